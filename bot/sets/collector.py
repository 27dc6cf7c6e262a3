"""Photos sent together become one set (`Window`): an album, or photos and image files each
sent within SET_WINDOW_S of the one before with nothing else between them (a command, a
captioned photo or a button press ends the burst: `BurstBreaker`). A lone photo is answered
as today (its own keyboard); from the second photo on, that message becomes the set's ONE
message («Получено 18 фото», edited in place as more arrive: at most once a second, and a
quarter second after a burst stops, so its full count shows at once) with the set's
keyboard, and no photo of the set gets a keyboard of its own.

Nothing is dropped: flood control lets images through, and what bounds them is a per-user
limit of stored-but-unprocessed photos (MAX_UNPROCESSED_PHOTOS, `admission.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot import keyboards, replies
from bot.command_parsing import split_command
from bot.inbox.origin import origin
from bot.intake import Incoming, IntakeError, fetch, has_image, intake, keep
from bot.jobs.delivery import SEND_ERRORS
from bot.sets.admission import Admissions
from bot.sets.throttle import Throttle
from bot.storage import Photo, PhotoSet, Storage, User
from bot.texts import t, tn
from services.scheduler import ModelServices

#: the set's message is edited at most this often while photos arrive
SET_MESSAGE_INTERVAL_S = 1.0
#: ... and once the photos stop arriving for this long (a burst is shown with its full count)
SET_MESSAGE_QUIET_S = 0.25
#: ... or for this long once every photo that arrived is stored (none being downloaded): a
#: photo whose update is already on its way still joins the count (issue 31)
SET_MESSAGE_SETTLED_S = 0.05
MAX_WINDOWS = 10_000
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass
class Window:
    """One burst of a user's photos in one chat: a lone photo, then (from the second) a set."""

    user_id: int
    chat_id: int
    lang: str
    last: float  # when the latest image arrived (monotonic)
    reply_to: int  # the first message: the set's message replies to it
    images: int = 0  # images that arrived in this window
    in_flight: int = 0  # of them, admitted and not yet stored or refused
    lone: tuple[Photo, str | None] | None = None  # the first photo, while it is alone
    anchor: int | None = None  # the message that is (or becomes) the set's message
    set_id: int | None = None
    members: int = 0
    closed: bool = False  # an action started: later photos start a new set
    split: bool = False  # One by one: the set's message no longer counts photos
    throttle: Throttle | None = None  # the set message's edits
    domain: str = "product"  # the user's: which set buttons the set's message shows
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SetCollector:
    def __init__(
        self,
        bot: Bot,
        db: Storage,
        services: ModelServices,
        *,
        window_s: float,
        max_unprocessed: int,
        max_bytes: int,
    ) -> None:
        self.bot = bot
        self.db = db
        self.services = services
        self.window_s = window_s
        self.max_bytes = max_bytes
        self._windows: dict[tuple[int, int], Window] = {}
        self._by_set: dict[int, Window] = {}
        self.admissions = Admissions(db, max_unprocessed, window_s)
        self._stopped = False

    # ---- photos arriving

    async def collect(self, messages: list[Message], user: User, lang: str) -> None:
        """Photos without a command: a lone photo gets its keyboard, a burst becomes a set."""
        images = [m for m in messages if has_image(m)]
        window = self._join(user.id, messages[0], lang, len(images)) if images else None
        if window is not None:
            window.domain = user.domain or "product"
        allowed = await self.admissions.admit(user.id, len(images))
        admitted = {id(m) for m in images[:allowed]}
        if window is not None:
            self._landed(window, len(images) - len(admitted))  # refused: never stored
        if len(images) > allowed:
            await self.admissions.tell(user.id, images[allowed], lang)

        async def one(message: Message) -> None:
            if has_image(message) and id(message) not in admitted:
                return
            counted = has_image(message)
            try:
                photo = await self.take(message, user.id, lang, counted=counted)
                if photo is not None and window is not None:
                    await self._stored(window, message, photo)  # counted in, then landed
            finally:
                if counted and window is not None:
                    self._landed(window, 1)

        await asyncio.gather(*(one(message) for message in messages))

    async def take(
        self, message: Message, user_id: int, lang: str, *, counted: bool = True
    ) -> Photo | None:
        """Download, check and store one admitted image (a refusal is answered here)."""
        try:
            photo = await intake(
                message,
                user_id=user_id,
                bot=self.bot,
                db=self.db,
                services=self.services,
                max_bytes=self.max_bytes,
            )
        except IntakeError as exc:
            if counted:
                self.admissions.settle(user_id, stored=False)
            await message.reply(exc.text(lang))
            return None
        if counted:
            self.admissions.settle(user_id, stored=True)
        return photo

    async def fetch(self, message: Message, user_id: int, lang: str) -> Photo | Incoming | None:
        """`take` up to the row (an admitted image): its job may start before `keep` stores
        the row (bot/actions.py); None when refused (answered here)."""
        try:
            taken = await fetch(
                message,
                user_id=user_id,
                bot=self.bot,
                db=self.db,
                services=self.services,
                max_bytes=self.max_bytes,
            )
        except IntakeError as exc:
            self.admissions.settle(user_id, stored=False)
            await message.reply(exc.text(lang))
            return None
        self.admissions.settle(user_id, stored=True)
        return taken

    async def keep(self, incoming: Incoming) -> Photo:
        return await keep(self.db, incoming)

    async def admit_all(self, messages: list[Message], user: User, lang: str) -> list[Message]:
        """The images of a captioned message or album that fit under the limit (the rest are
        refused, once per burst); messages that are no image pass (intake answers them)."""
        images = [m for m in messages if has_image(m)]
        allowed = await self.admissions.admit(user.id, len(images))
        if len(images) > allowed:
            await self.admissions.tell(user.id, images[allowed], lang)
        refused = {id(m) for m in images[allowed:]}
        return [m for m in messages if id(m) not in refused]

    # ---- a set made at once (a captioned album) and sets closing

    async def album_set(
        self, photos: list[tuple[Photo, str | None]], user: User, lang: str, reply_to: int
    ) -> PhotoSet:
        """A captioned album: its own set, closed (its command runs over it), with the set's
        message and keyboard for what the seller does next."""
        chat_id = photos[0][0].chat_id
        made_for = origin("album", photos[0][0].id)
        if made_for is not None and (made := await self.db.set_by_origin(made_for)):
            return made  # this album's update handled again after a restart
        members = [(photo.id, name) for photo, name in photos]
        photo_set = await self.db.create_set(user.id, chat_id, members, made_for)
        await self.db.close_set(photo_set.id)
        window = Window(user.id, chat_id, lang, 0.0, reply_to, members=len(photos))
        window.domain = user.domain or "product"
        message_id = await self._send_set_message(window, photo_set.id)
        await self.db.set_message(photo_set.id, message_id)
        return photo_set

    def interrupt(self, user_id: int, chat_id: int) -> None:
        """Something else came between photos (a command, a button): the burst is over, and
        the next photo starts anew (a lone photo answered as today)."""
        window = self._windows.get((user_id, chat_id))
        if window is not None:
            window.closed = True

    def close(self, set_id: int) -> None:
        """An action started on the set (or Split): photos sent later start a new set."""
        window = self._by_set.get(set_id)
        if window is not None:
            window.closed = True

    async def split(self, photo_set: PhotoSet, lang: str) -> None:
        """Split: each photo of the set gets its own keyboard, as if sent one by one."""
        window = self._by_set.get(photo_set.id)
        if window is not None:
            window.closed = window.split = True
            if window.throttle is not None:
                await window.throttle.settle()  # a count being shown now is not shown later
        await self.db.close_set(photo_set.id)
        members = await self.db.set_members(photo_set.id)
        for index, (photo, _) in enumerate(members, start=1):
            with contextlib.suppress(*SEND_ERRORS):
                await self.bot.send_message(
                    photo.chat_id,
                    t(lang, "photo.received_n", index=index, total=len(members)),
                    reply_markup=keyboards.photo_actions(photo.id, lang),
                    reply_parameters=replies.reply_to(photo.message_id),
                )

    async def stop(self) -> None:
        self._stopped = True
        for window in self._windows.values():
            if window.throttle is not None:
                await window.throttle.cancel()

    # ---- windows

    def _join(self, user_id: int, first: Message, lang: str, images: int) -> Window:
        """The user's open window in this chat, or a new one (decided before any await, so
        photos arriving together see one window)."""
        now = time.monotonic()
        key = (user_id, first.chat.id)
        window = self._windows.get(key)
        if window is None or window.closed or now - window.last > self.window_s:
            if window is not None and window.set_id is not None:
                self._by_set.pop(window.set_id, None)
            if len(self._windows) >= MAX_WINDOWS:
                self._forget_old(now)
            window = Window(user_id, first.chat.id, lang, now, first.message_id)
            self._windows[key] = window
        window.last = now
        window.images += images
        window.in_flight += images  # before any await: a count shown meanwhile waits for them
        return window

    @staticmethod
    def _landed(window: Window, images: int) -> None:
        """`images` of the window's photos are stored or refused: once none is in flight,
        the set's message need not wait the whole quiet."""
        window.in_flight -= images
        if window.throttle is not None:
            window.throttle.wake()

    def _forget_old(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            if now - window.last > self.window_s:
                del self._windows[key]
                if window.set_id is not None:
                    self._by_set.pop(window.set_id, None)

    async def _stored(self, window: Window, message: Message, photo: Photo) -> None:
        name = message.document.file_name if message.document else None
        async with window.lock:
            if window.set_id is None and window.images == 1:  # alone so far: as today
                window.lone = (photo, name)
                with contextlib.suppress(*SEND_ERRORS):
                    sent = await self.bot.send_message(
                        photo.chat_id,
                        t(window.lang, "photo.received"),
                        reply_markup=keyboards.photo_actions(photo.id, window.lang),
                        reply_parameters=replies.reply_to(message.message_id),
                    )
                    window.anchor = sent.message_id
                return
            if window.set_id is None:
                members = [(photo.id, name)]
                if window.lone is not None:
                    members.insert(0, (window.lone[0].id, window.lone[1]))
                photo_set = await self.db.create_set(window.user_id, window.chat_id, members)
                window.set_id, window.members = photo_set.id, len(members)
                self._by_set[photo_set.id] = window
            else:
                await self.db.add_to_set(window.set_id, photo.id, name)
                window.members += 1
            if window.throttle is None:
                window.throttle = Throttle(
                    SET_MESSAGE_INTERVAL_S,
                    lambda: self._flush(window),
                    quiet=lambda: (
                        SET_MESSAGE_SETTLED_S if window.in_flight <= 0 else SET_MESSAGE_QUIET_S
                    ),
                )
            if not self._stopped:  # shutting down: the photo is stored, its message stays
                window.throttle.poke()

    async def _flush(self, window: Window) -> None:
        async with window.lock:
            if window.set_id is not None and not window.split:
                await self._show(window, window.set_id)

    async def _show(self, window: Window, set_id: int) -> None:
        text = tn(window.lang, "set.received", window.members, count=window.members)
        markup = keyboards.set_actions(set_id, window.lang, window.domain)
        if window.anchor is not None:
            try:
                await self.bot.edit_message_text(
                    text=text,
                    chat_id=window.chat_id,
                    message_id=window.anchor,
                    reply_markup=markup,
                )
            except SEND_ERRORS as exc:
                if "not modified" in str(exc):
                    return
                window.anchor = None
            else:
                await self.db.set_message(set_id, window.anchor)
                return
        window.anchor = await self._send_set_message(window, set_id)
        await self.db.set_message(set_id, window.anchor)

    async def _send_set_message(self, window: Window, set_id: int) -> int | None:
        lang, count = window.lang, window.members
        try:
            sent = await self.bot.send_message(
                window.chat_id,
                tn(lang, "set.received", count, count=count),
                reply_markup=keyboards.set_actions(set_id, lang, window.domain),
                reply_parameters=replies.reply_to(window.reply_to),
            )
        except SEND_ERRORS:
            return None
        return sent.message_id


class BurstBreaker(BaseMiddleware):
    """A set is photos sent one right after another: a text, a command, a captioned photo or
    a button press in between ends the burst (`SetCollector.interrupt`)."""

    def __init__(self, collector: SetCollector) -> None:
        self.collector = collector

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = getattr(event, "from_user", None)
        if sender is not None and _breaks_a_burst(event, data.get("album")):
            chat = event.message.chat if isinstance(event, CallbackQuery) else event.chat
            if chat is not None:
                self.collector.interrupt(sender.id, chat.id)
        return await handler(event, data)


def _breaks_a_burst(event: TelegramObject, album: list[Message] | None) -> bool:
    if isinstance(event, CallbackQuery):
        return event.message is not None
    if not isinstance(event, Message):
        return False
    messages = album or [event]
    commanded = any(split_command(m.caption) is not None for m in messages)
    return commanded or not any(has_image(m) for m in messages)
