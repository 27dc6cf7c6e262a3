"""A small in-process impersonation of api.telegram.org for end-to-end tests.

The real bot (aiogram 3 with ``TelegramAPIServer.from_base(emulator.base_url)``) talks to it
over real HTTP on 127.0.0.1.  Tests act as users (``send_text``, ``send_photo``,
``press_button``...) which enqueues updates for the bot's long polling, and observe what the
bot did through ``bot_messages``, ``calls``, ``answered_callbacks`` and ``chat_actions``.

Only private chats are modelled (chat id == user id).  Error descriptions copy Telegram's
wording for the mistakes bots really make (editing without changes, 64-byte callback data,
broken HTML, unknown file ids...), so the bot's error handling is exercised too.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from io import BytesIO
from typing import Any, TypeVar

from aiohttp import web
from PIL import Image

DEFAULT_TOKEN = "123456:TEST-token-for-the-emulator-only"
GET_FILE_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files
UPLOAD_LIMIT = 50 * 1024 * 1024  # sendDocument
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024  # sendPhoto
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
# Name tables: packed rows read better than one name per line, so the formatter skips them.
# fmt: off
# Fields aiogram JSON-encodes (numbers, booleans, objects, lists); everything else stays a str.
_JSON_FIELDS = frozenset((
    "chat_id", "message_id", "offset", "limit", "timeout", "allowed_updates", "reply_markup",
    "reply_parameters", "reply_to_message_id", "media", "commands", "scope",
    "link_preview_options", "entities", "caption_entities", "show_alert", "cache_time",
    "disable_notification", "protect_content", "drop_pending_updates", "max_connections",
    "allow_sending_without_reply", "message_thread_id", "has_spoiler",
    "show_caption_above_media", "disable_content_type_detection", "disable_web_page_preview",
))
_BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_CHAT_ACTIONS = frozenset((
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
))
_HTML_TAGS = frozenset((
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
))
_METHODS = (
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "setMyCommands",
    "getMyCommands",
    "deleteMyCommands", "getFile", "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup",
    "editMessageText", "editMessageCaption", "editMessageReplyMarkup", "answerCallbackQuery",
    "sendChatAction", "deleteMessage",
)
# fmt: on
_TOKEN_SHAPE = re.compile(r"^\d+:[\w-]+$")
_AGAIN = "_redelivered"  # marks a redelivered update in the queue (never sent to the bot)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_IMAGE_EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}
T = TypeVar("T")
Json = dict[str, Any]  # a Telegram object / request parameters


class ApiError(Exception):
    """Turned into ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.code = code


class EmulatorTimeout(AssertionError, TimeoutError):
    """A ``wait_for_*`` gave up; catchable as AssertionError or (asyncio.)TimeoutError."""


@dataclass
class Upload:
    """A multipart file part of a request."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None

    def as_file(self) -> Json:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


class _TelegramHTML(HTMLParser):
    """Renders parse_mode=HTML to the plain text a user sees; rejects what Telegram rejects."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=True)
        self.raw = raw
        self.parts: list[str] = []  # text outside tags, entities unescaped
        self.stack: list[str] = []  # open tags

    def _offset(self) -> int:
        line, col = self.getpos()
        lines = self.raw.split("\n")
        index = sum(len(text) + 1 for text in lines[: line - 1]) + col
        return len(self.raw[:index].encode())

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(
                f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}" '
                f"at byte offset {self._offset()}"
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise ApiError(
                f"Bad Request: can't parse entities: Unexpected end tag at byte offset "
                f"{self._offset()}"
            )
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    def render(cls, raw: str) -> str:
        parser = cls(raw)
        parser.feed(raw)
        parser.close()
        if parser.stack:
            raise ApiError(
                "Bad Request: can't parse entities: Can't find end tag corresponding to start "
                f'tag "{parser.stack[-1]}"'
            )
        return "".join(parser.parts)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str | None) -> list[Json]:
    """Telegram marks a leading /command (incl. @botname) as a bot_command entity."""
    if not text or not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]


class BotAPIEmulator:
    """Telegram Bot API server double; see the module docstring."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.base_url = ""
        self.bot_user: Json = {
            "id": 1000,
            "is_bot": True,
            "first_name": "Vitrina",
            "username": "vitrina_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.commands: list[Json] = []  # the latest setMyCommands list
        self.all_commands: dict[tuple[str, str], list[Json]] = {}  # (scope, lang)
        self.bot_messages: list[Json] = []
        self.calls: list[tuple[str, Json]] = []
        self.answered_callbacks: dict[str, Json] = {}
        self.chat_actions: list[Json] = []
        self.server_errors: list[str] = []  # emulator bugs surfaced as HTTP 500
        self._floods: dict[str, list[int]] = {}  # method (lower case) -> retry_after queue
        self._faults: dict[str, list[str]] = {}  # method (lower case) or "file" -> faults
        self.faults_served: list[tuple[str, str]] = []
        self._users: dict[int, Json] = {}
        self._messages: dict[tuple[int, int], Json] = {}  # Telegram-shaped, live
        self._records: dict[tuple[int, int], Json] = {}  # bot_messages entries
        self._last_message_id: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._updates: list[Json] = []
        self._sent_updates: dict[int, Json] = {}  # every update ever queued (redeliver)
        self._allowed_updates: list[str] = []
        # the moment getUpdates confirms an update (update id -> callbacks), see on_confirmed
        self._confirm_hooks: dict[int, list[Callable[[], None]]] = {}
        self.confirmed_up_to = 0  # the highest update id a getUpdates offset confirmed
        # webhook mode (setWebhook): the URL, its secret, and the task that POSTs updates
        self.webhook: Json | None = None
        self.webhook_posts: list[tuple[int, int]] = []  # (update id, HTTP status or 0)
        self._webhook_task: asyncio.Task[None] | None = None
        self._pending_callbacks: set[str] = set()
        self._update_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._callback_numbers = itertools.count(1)
        self._group_numbers = itertools.count(1)
        self._changed = asyncio.Event()  # replaced (after being set) on every state change
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[Json], Awaitable[Any]]] = {
            name.lower(): getattr(self, f"_m_{name}") for name in _METHODS
        }

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self._closing = True  # lets pending long polls return at once
        self._notify()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ HTTP layer
    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            token = request.match_info["token"]
            if token != self.token:
                # Telegram: well-formed but unknown token -> 401, garbage -> 404
                raise ApiError(
                    *(("Unauthorized", 401) if _TOKEN_SHAPE.match(token) else ("Not Found", 404))
                )
            params = await self._read_params(request)
            self.calls.append((method, params))
            self._notify()  # for wait_for_calls
            fault = self._take_fault(method.lower())
            if fault is not None:
                return self._faulty_response(request, fault)
            if self._floods.get(method.lower()):
                retry_after = self._floods[method.lower()].pop(0)
                body = {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                }
                return web.json_response(body, status=429)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError("Not Found", 404)
            result = await handler(params)
        except ApiError as error:
            return _error_response(error)
        except web.HTTPRequestEntityTooLarge:
            return _error_response(ApiError("Request Entity Too Large", 413))
        except Exception as error:
            self.server_errors.append(f"{method}: {error!r}")
            return _error_response(ApiError(f"Internal Server Error: emulator bug {error!r}", 500))
        return web.json_response({"ok": True, "result": result})

    def _take_fault(self, key: str) -> str | None:
        queue = self._faults.get(key)
        if not queue:
            return None
        fault = queue.pop(0)
        self.faults_served.append((key, fault))
        return fault

    @staticmethod
    def _faulty_response(request: web.Request, fault: str) -> web.Response:
        """A 5xx the way Telegram sends it (JSON), one the way a proxy does (HTML), or a
        connection closed before any answer (the request is not carried out)."""
        if fault == "drop":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if fault == "502html":
            return web.Response(
                status=502, text="<html>502 Bad Gateway</html>", content_type="text/html"
            )
        code = int(fault)
        body = {"ok": False, "error_code": code, "description": "Internal Server Error"}
        return web.json_response(body, status=code)

    async def _handle_file(self, request: web.Request) -> web.Response:
        fault = self._take_fault("file")
        if fault is not None:
            return self._faulty_response(request, fault)
        stored = self._files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return _error_response(ApiError("Not Found", 404))
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _read_params(self, request: web.Request) -> Json:
        params: Json = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.method == "POST":
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    params[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
        for key, value in params.items():
            if key in _JSON_FIELDS and isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    if key in ("reply_markup", "reply_parameters", "media", "commands"):
                        what = "reply keyboard markup" if key == "reply_markup" else key
                        raise ApiError(f"Bad Request: can't parse {what} JSON object") from None
        return params

    # ------------------------------------------------------------------ shared helpers
    def _chat(self, params: Json) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or (chat_id not in self._users and chat_id >= 0):
            raise ApiError("Bad Request: chat not found")
        return chat_id

    def _chat_obj(self, chat_id: int) -> Json:
        if chat_id < 0:  # groups have negative ids
            return {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
        user = self._users[chat_id]
        return {
            "id": chat_id,
            "type": "private",
            "first_name": user["first_name"],
            "username": user["username"],
        }

    def _existing(self, params: Json, verb: str) -> tuple[int, int]:
        if "inline_message_id" in params:
            raise ApiError("Bad Request: inline messages are not supported by the emulator")
        key = (self._chat(params), params.get("message_id"))
        if key not in self._messages:
            raise ApiError(f"Bad Request: message to {verb} not found")
        return key  # type: ignore[return-value]

    def _reply_to(self, chat_id: int, params: Json) -> int | None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None or (chat_id, message_id) in self._messages:
            return message_id
        if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
            return None
        raise ApiError("Bad Request: message to be replied not found")

    @staticmethod
    def _markup(params: Json) -> Json | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError("Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup and not any(markup["inline_keyboard"]):
            return None  # an empty inline keyboard removes the keyboard
        for button in itertools.chain.from_iterable(markup.get("inline_keyboard", [])):
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError("Bad Request: BUTTON_DATA_INVALID")
            if not any(action in button for action in _BUTTON_ACTIONS):
                raise ApiError("Bad Request: text buttons are unallowed in the inline keyboard")
        return markup

    @staticmethod
    def _render(raw: str, parse_mode: str | None, *, caption: bool = False) -> str:
        text = _TelegramHTML.render(raw) if (parse_mode or "").lower() == "html" else raw
        if caption and len(text) > 1024:
            raise ApiError("Bad Request: message caption is too long")
        if not caption and not text.strip():
            raise ApiError("Bad Request: message text is empty")
        if not caption and len(text) > 4096:
            raise ApiError("Bad Request: message is too long")
        return text

    def _new_message(
        self, chat_id: int, sender: Json, reply_to: int | None, **content: Any
    ) -> Json:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "from": sender,
            "chat": self._chat_obj(chat_id),
        }
        if reply_to is not None:
            replied = dict(self._messages[(chat_id, reply_to)])
            replied.pop("reply_to_message", None)  # Telegram nests only one level
            message["reply_to_message"] = replied
        message.update({key: value for key, value in content.items() if value is not None})
        self._messages[(chat_id, message_id)] = message
        return message

    def _store_file(
        self, data: bytes, folder: str, ext: str, name: str | None = None, mime: str | None = None
    ) -> StoredFile:
        number = next(self._file_numbers)
        stored = StoredFile(
            file_id=f"EMU{folder[:3].upper()}{number:06d}{hashlib.sha1(data).hexdigest()[:12]}",
            # same bytes -> same file_unique_id, as on Telegram
            file_unique_id=hashlib.sha1(data).hexdigest()[:16],
            file_path=f"{folder}/file_{number}{ext}",
            data=data,
            file_name=name,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, data: bytes) -> list[Json]:
        """Stores a thumbnail (<= 90 px, JPEG) and the full image; returns both PhotoSizes."""
        try:
            with Image.open(BytesIO(data)) as image:
                image.load()
                width, height, fmt = image.width, image.height, image.format or "JPEG"
                thumb = image.convert("RGB")
        except Exception:
            raise ApiError("Bad Request: IMAGE_PROCESS_FAILED") from None
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise ApiError("Bad Request: PHOTO_INVALID_DIMENSIONS")
        thumb.thumbnail((90, 90))
        buffer = BytesIO()
        thumb.save(buffer, "JPEG", quality=80)
        sizes = []
        for blob, w, h, suffix, mime in (
            (buffer.getvalue(), thumb.width, thumb.height, ".jpg", "image/jpeg"),
            (data, width, height, _IMAGE_EXT.get(fmt, ".jpg"), Image.MIME.get(fmt, "image/jpeg")),
        ):
            stored = self._store_file(blob, "photos", suffix, mime=mime)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": w,
                    "height": h,
                    "file_size": len(blob),
                }
            )
        return sizes

    def _document(self, data: bytes, file_name: str, mime_type: str | None) -> Json:
        if not data:
            raise ApiError("Bad Request: file must be non-empty")
        mime = mimetypes.guess_type(file_name)[0] or mime_type or "application/octet-stream"
        ext = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
        stored = self._store_file(data, "documents", ext, file_name, mime)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime,
            "file_size": len(data),
        }

    def _input_file(self, value: Any, params: Json) -> tuple[bytes, str, str | None]:
        """Resolves attach://name, a direct file part or a known file_id to (bytes, name, mime)."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            return value.data, value.filename, value.content_type
        if isinstance(value, str) and value in self._files:
            stored = self._files[value]
            name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
            return stored.data, name, stored.mime_type
        raise ApiError("Bad Request: wrong file identifier/HTTP URL specified")

    def _record(
        self,
        message: Json,
        method: str,
        raw: str | None,
        params: Json,
        markup: Json | None,
        **extra: Any,
    ) -> None:
        record = {
            "message_id": message["message_id"],
            "chat_id": message["chat"]["id"],
            "method": method,
            "text": message.get("text", message.get("caption")),
            "raw_text": raw,
            "parse_mode": params.get("parse_mode"),
            "photo_bytes": None,
            "document_bytes": None,
            "reply_markup": markup,
            "reply_to_message_id": message.get("reply_to_message", {}).get("message_id"),
            "deleted": False,
            "edits": [],
            "message": message,
            **extra,
        }
        self.bot_messages.append(record)
        self._records[(record["chat_id"], record["message_id"])] = record
        self._notify()

    def _send(
        self,
        params: Json,
        method: str,
        content: Json,
        raw: str | None,
        reply_to: int | None,
        **extra: Any,
    ) -> Json:
        chat_id = self._chat(params)
        markup = self._markup(params)
        inline = markup if markup and "inline_keyboard" in markup else None
        message = self._new_message(
            chat_id, self.bot_user, reply_to, reply_markup=inline, **content
        )
        self._record(message, method, raw, params, markup, **extra)
        return message

    # ------------------------------------------------------------------ Bot API methods
    async def _m_getMe(self, params: Json) -> Json:
        return self.bot_user

    async def _m_getUpdates(self, params: Json) -> list[Json]:
        if self.webhook is not None:
            raise ApiError(
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
                409,
            )
        offset, timeout = params.get("offset") or 0, max(0, params.get("timeout") or 0)
        limit = min(max(params.get("limit") or 100, 1), 100)
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or []
        if offset > 0:  # confirms (forgets) everything before offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset or u.get(_AGAIN)]
            self._confirmed(offset - 1)
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._allowed_updates:  # Telegram never delivers filtered-out updates
                self._updates = [u for u in self._updates if set(u) & {*self._allowed_updates}]
            if self._updates or self._closing or not await self._wait_changed(deadline):
                batch = self._updates[:limit]
                for update in batch:  # a redelivered one goes out once more, then as any
                    update.pop(_AGAIN, None)
                return batch

    def _confirmed(self, update_id: int) -> None:
        """Telegram forgets every update up to `update_id`: the hooks waiting for that run
        now, before getUpdates answers (a test kills the bot right there)."""
        self.confirmed_up_to = max(self.confirmed_up_to, update_id)
        for wanted in sorted(k for k in self._confirm_hooks if k <= update_id):
            for callback in self._confirm_hooks.pop(wanted):
                callback()

    async def _m_setWebhook(self, params: Json) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._m_deleteWebhook(params)
        if not re.match(r"^https?://", url):
            raise ApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError("Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or []
        self.webhook = {"url": url, "secret_token": secret}
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._post_updates())
        self._notify()
        return True

    async def _m_deleteWebhook(self, params: Json) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        self._notify()
        return True

    async def _stop_webhook(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _post_updates(self) -> None:
        """Webhook mode: POST each pending update in order, with the secret header; a 2xx
        answer confirms it, anything else (or no answer) is retried shortly, as Telegram
        does."""
        import aiohttp

        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            while self.webhook is not None and not self._closing:
                if self._allowed_updates:
                    allowed = {*self._allowed_updates}
                    self._updates = [u for u in self._updates if set(u) & allowed]
                if not self._updates:
                    await self._wait_changed(loop.time() + 1.0)
                    continue
                update, hook = self._updates[0], self.webhook
                headers = {}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                try:
                    async with session.post(hook["url"], json=update, headers=headers) as answer:
                        status = answer.status
                except (aiohttp.ClientError, OSError):
                    status = 0
                self.webhook_posts.append((update["update_id"], status))
                if 200 <= status < 300:
                    self._updates = [u for u in self._updates if u is not update]
                    self._confirmed(update["update_id"])
                    self._notify()
                else:
                    await asyncio.sleep(0.1)

    async def _m_getWebhookInfo(self, params: Json) -> Json:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: Json) -> tuple[str, str]:
        return (params.get("scope") or {}).get("type", "default"), params.get("language_code", "")

    async def _m_setMyCommands(self, params: Json) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError("Bad Request: can't parse commands JSON object")
        for command in commands:
            if not _COMMAND_NAME.match(command.get("command", "")):
                raise ApiError("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError("Bad Request: command description is empty or too long")
        self.all_commands[self._commands_key(params)] = self.commands = commands
        return True

    async def _m_getMyCommands(self, params: Json) -> list[Json]:
        return self.all_commands.get(self._commands_key(params), [])

    async def _m_deleteMyCommands(self, params: Json) -> bool:
        self.all_commands.pop(self._commands_key(params), None)
        return True

    async def _m_getFile(self, params: Json) -> Json:
        stored = self._files.get(params.get("file_id", ""))
        if stored is None:
            raise ApiError("Bad Request: invalid file_id")
        if len(stored.data) > GET_FILE_LIMIT:
            raise ApiError("Bad Request: file is too big")
        return stored.as_file()

    async def _m_sendMessage(self, params: Json) -> Json:
        chat_id = self._chat(params)
        raw = params.get("text", "")
        text = self._render(raw, params.get("parse_mode"))
        reply_to = self._reply_to(chat_id, params)
        return self._send(params, "sendMessage", {"text": text}, raw, reply_to)

    async def _m_sendPhoto(self, params: Json) -> Json:
        chat_id = self._chat(params)
        data, _, _ = self._input_file(params.get("photo"), params)
        if len(data) > PHOTO_UPLOAD_LIMIT:
            raise ApiError("Request Entity Too Large", 413)
        raw = params.get("caption")
        caption = self._render(raw, params.get("parse_mode"), caption=True) if raw else None
        reply_to = self._reply_to(chat_id, params)
        content = {"photo": self._photo_sizes(data), "caption": caption}
        return self._send(params, "sendPhoto", content, raw, reply_to, photo_bytes=data)

    async def _m_sendDocument(self, params: Json) -> Json:
        chat_id = self._chat(params)
        data, name, mime = self._input_file(params.get("document"), params)
        if len(data) > UPLOAD_LIMIT:
            raise ApiError("Request Entity Too Large", 413)
        raw = params.get("caption")
        caption = self._render(raw, params.get("parse_mode"), caption=True) if raw else None
        reply_to = self._reply_to(chat_id, params)
        content = {"document": self._document(data, name, mime), "caption": caption}
        return self._send(
            params, "sendDocument", content, raw, reply_to, document_bytes=data, document_name=name
        )

    async def _m_sendMediaGroup(self, params: Json) -> list[Json]:
        chat_id = self._chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError("Bad Request: wrong number of media specified (must be 2-10)")
        types = {item.get("type") for item in media if isinstance(item, dict)}
        if "document" in types and len(types) > 1:  # documents group only with documents
            raise ApiError("Bad Request: document can't be mixed with other media types")
        reply_to = self._reply_to(chat_id, params)
        prepared = []  # validate everything before creating any message
        for item in media:
            if item.get("type") not in ("photo", "document"):
                raise ApiError(f"Bad Request: unsupported media type {item.get('type')!r}")
            data, name, mime = self._input_file(item.get("media"), params)
            raw = item.get("caption")
            caption = self._render(raw, item.get("parse_mode"), caption=True) if raw else None
            if item["type"] == "photo":
                content = {"photo": self._photo_sizes(data)}
                extra = {"photo_bytes": data}
            else:
                content = {"document": self._document(data, name, mime)}
                extra = {"document_bytes": data, "document_name": name}
            prepared.append((content, caption, raw, item, extra))
        group_id = str(13_000_000_000_000_000 + next(self._group_numbers))
        messages = []
        for content, caption, raw, item, extra in prepared:
            message = self._new_message(
                chat_id,
                self.bot_user,
                reply_to,
                caption=caption,
                media_group_id=group_id,
                **content,
            )
            self._record(
                message, "sendMediaGroup", raw, item, None, media_group_id=group_id, **extra
            )
            messages.append(message)
        return messages

    def _edit_text(self, params: Json, field_name: str) -> Json:
        key = self._existing(params, "edit")
        message, record = self._messages[key], self._records.get(key)
        if record is None:
            raise ApiError("Bad Request: message can't be edited")
        if field_name == "text" and "text" not in message:
            raise ApiError("Bad Request: there is no text in the message to edit")
        if field_name == "caption" and not {"photo", "document"} & set(message):
            raise ApiError("Bad Request: there is no caption in the message to edit")
        raw = params.get(field_name) or ""
        markup = self._markup(params)  # omitting reply_markup removes the keyboard, as on TG
        if raw == (record["raw_text"] or "") and markup == record["reply_markup"]:
            raise ApiError(NOT_MODIFIED)
        text = self._render(raw, params.get("parse_mode"), caption=field_name == "caption")
        record["edits"].append(record["text"])
        record.update(text=text or None, raw_text=raw, parse_mode=params.get("parse_mode"))
        message[field_name] = text
        if not text:
            message.pop(field_name)
        return self._set_markup(message, record, markup)

    def _set_markup(self, message: Json, record: Json, markup: Json | None) -> Json:
        record["reply_markup"] = markup
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self._notify()
        return message

    async def _m_editMessageText(self, params: Json) -> Json:
        return self._edit_text(params, "text")

    async def _m_editMessageCaption(self, params: Json) -> Json:
        return self._edit_text(params, "caption")

    async def _m_editMessageReplyMarkup(self, params: Json) -> Json:
        key = self._existing(params, "edit")
        record = self._records.get(key)
        if record is None:
            raise ApiError("Bad Request: message can't be edited")
        markup = self._markup(params)
        if markup == record["reply_markup"]:
            raise ApiError(NOT_MODIFIED)
        return self._set_markup(self._messages[key], record, markup)

    async def _m_answerCallbackQuery(self, params: Json) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._pending_callbacks:
            raise ApiError(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        self._pending_callbacks.discard(query_id)
        self.answered_callbacks[query_id] = params
        self._notify()
        return True

    async def _m_sendChatAction(self, params: Json) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        self.chat_actions.append(params)
        self._notify()
        return True

    async def _m_deleteMessage(self, params: Json) -> bool:
        key = self._existing(params, "delete")
        del self._messages[key]
        if key in self._records:
            self._records[key]["deleted"] = True
        self._notify()
        return True

    def flood(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get Telegram's 429 flood-control answer."""
        self._floods.setdefault(method.lower(), []).extend([retry_after] * times)

    def fail(self, method: str, *faults: str) -> None:
        """The next calls of `method` ("file" for file downloads) fail, one fault each:
        "500"/"503" (Telegram's JSON error), "502html" (a proxy's page) or "drop" (the
        connection is closed without an answer; the call is not carried out)."""
        self._faults.setdefault(method.lower(), []).extend(faults)

    # ------------------------------------------------------------------ user-side actions
    def user(
        self, user_id: int = 42, language_code: str = "ru", first_name: str = "Test"
    ) -> FakeUser:
        self._user_obj(user_id, language_code, first_name)
        return FakeUser(self, user_id, language_code)

    def _user_obj(self, user_id: int, language_code: str, first_name: str | None = None) -> Json:
        known = self._users.get(user_id, {})
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or known.get("first_name", "Test"),
            "username": f"user{user_id}",
            "language_code": language_code,
        }
        self._users[user_id] = user
        return user

    def _user_message(
        self, user_id: int, language_code: str, reply_to: int | None, **content: Any
    ) -> Json:
        user = self._user_obj(user_id, language_code)
        if reply_to is not None and (user_id, reply_to) not in self._messages:
            raise ValueError(f"message {reply_to} does not exist in chat {user_id}")
        message = self._new_message(user_id, user, reply_to, **content)
        self._enqueue("message", message)
        return copy.deepcopy(message)

    def _enqueue(self, kind: str, payload: Json) -> None:
        # deep copy: later edits must not change an update that is already queued
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self._sent_updates[update["update_id"]] = copy.deepcopy(update)
        self._notify()

    @property
    def last_update_id(self) -> int:
        """The id of the newest update queued for the bot (0: none yet)."""
        return max(self._sent_updates, default=0)

    def on_confirmed(self, update_id: int, callback: Callable[[], None]) -> None:
        """Call `callback` at the moment Telegram forgets `update_id`: a getUpdates whose
        offset confirms it has arrived (before it is answered), or the webhook's 2xx."""
        if update_id <= self.confirmed_up_to:
            callback()
            return
        self._confirm_hooks.setdefault(update_id, []).append(callback)

    def redeliver(self, update_id: int) -> None:
        """Queue an update the bot had already received again, with the same update_id, as
        Telegram does when its confirmation was lost (the next getUpdates returns it even
        though its offset is past it; in webhook mode it is POSTed again)."""
        again = copy.deepcopy(self._sent_updates[update_id])
        if self.webhook is None:
            again[_AGAIN] = True
        self._updates.insert(0, again)
        self._notify()

    def send_text(
        self, user_id: int, text: str, *, reply_to: int | None = None, language_code: str = "ru"
    ) -> Json:
        entities = _command_entities(text) or None
        return self._user_message(user_id, language_code, reply_to, text=text, entities=entities)

    def send_group_text(
        self, user_id: int, group_id: int, text: str, *, language_code: str = "ru"
    ) -> Json:
        """A message of `user_id` in the group chat `group_id` (negative)."""
        assert group_id < 0, "group chats have negative ids"
        user = self._user_obj(user_id, language_code)
        entities = _command_entities(text) or None
        message = self._new_message(group_id, user, None, text=text, entities=entities)
        self._enqueue("message", message)
        return copy.deepcopy(message)

    def send_photo(
        self,
        user_id: int,
        image_bytes: bytes,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
        media_group_id: str | None = None,
        language_code: str = "ru",
    ) -> Json:
        try:
            sizes = self._photo_sizes(image_bytes)
        except ApiError as error:
            raise ValueError(f"send_photo: {error.description}") from None
        return self._user_message(
            user_id,
            language_code,
            reply_to,
            photo=sizes,
            caption=caption,
            caption_entities=_command_entities(caption) or None,
            media_group_id=media_group_id,
        )

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
        language_code: str = "ru",
    ) -> Json:
        return self._user_message(
            user_id,
            language_code,
            reply_to,
            document=self._document(data, file_name, mime_type),
            caption=caption,
            caption_entities=_command_entities(caption) or None,
        )

    def send_video(
        self,
        user_id: int,
        data: bytes,
        *,
        media_group_id: str | None = None,
        language_code: str = "ru",
    ) -> Json:
        """A user's video (the bytes are stored as is; width/height/duration are nominal)."""
        stored = self._store_file(data, "videos", ".mp4", "video.mp4", "video/mp4")
        video = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": 640,
            "height": 360,
            "duration": 3,
            "mime_type": "video/mp4",
            "file_size": len(data),
        }
        return self._user_message(
            user_id, language_code, None, video=video, media_group_id=media_group_id
        )

    def new_media_group_id(self) -> str:
        return str(14_000_000_000_000_000 + next(self._group_numbers))

    def send_album(
        self,
        user_id: int,
        images: list[bytes],
        *,
        caption: str | None = None,
        language_code: str = "ru",
    ) -> list[Json]:
        group_id = self.new_media_group_id()
        return [
            self.send_photo(
                user_id,
                image,
                caption=caption if index == 0 else None,
                media_group_id=group_id,
                language_code=language_code,
            )
            for index, image in enumerate(images)
        ]

    def press_button(
        self, user_id: int, message: Json, callback_data: str, language_code: str = "ru"
    ) -> str:
        """Presses an inline button of a bot message (a bot_messages record or a Message dict)."""
        chat_id = message.get("chat_id") or message["chat"]["id"]
        current = self._messages.get((chat_id, message["message_id"]))
        if current is None:
            raise ValueError(f"message {message['message_id']} is gone (deleted?)")
        available = self.buttons(current)
        if callback_data not in [data for _, data in available]:
            raise ValueError(f"no button with callback_data {callback_data!r}; has {available}")
        query_id = str(7_000_000_000_000_000 + next(self._callback_numbers))
        self._pending_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._user_obj(user_id, language_code),
            "message": current,
            "chat_instance": f"-{chat_id}77",
            "data": callback_data,
        }
        self._enqueue("callback_query", query)
        return query_id

    def press_forged(
        self, user_id: int, message: Json, callback_data: str, language_code: str = "ru"
    ) -> str:
        """A callback query with any data on a bot message, as a modified client can send."""
        chat_id = message.get("chat_id") or message["chat"]["id"]
        current = self._messages[(chat_id, message["message_id"])]
        query_id = str(7_000_000_000_000_000 + next(self._callback_numbers))
        self._pending_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._user_obj(user_id, language_code),
            "message": current,
            "chat_instance": f"-{chat_id}77",
            "data": callback_data,
        }
        self._enqueue("callback_query", query)
        return query_id

    # ------------------------------------------------------------------ observation
    @staticmethod
    def buttons(message: Json) -> list[tuple[str, str]]:
        """Flat (text, callback_data) list of an inline keyboard; url buttons give ''."""
        markup = message.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    async def _wait_changed(self, deadline: float) -> bool:
        """Waits for any state change until the loop-time deadline; False when it passed."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    async def _wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = asyncio.get_running_loop().time() + timeout
        while (result := check()) is None:
            if not await self._wait_changed(deadline):
                raise EmulatorTimeout(
                    f"timed out after {timeout}s waiting for {what}\n" + self.dump()
                )
        return result

    def dump(self, last: int = 8) -> str:
        """Readable summary of recent bot messages and calls, for assertion messages."""
        lines = [f"bot_messages (last {last} of {len(self.bot_messages)}):"]
        start = max(0, len(self.bot_messages) - last)
        for index, rec in enumerate(self.bot_messages[start:], start):
            flags = " DELETED" if rec["deleted"] else ""
            lines.append(
                f"  [{index}] chat={rec['chat_id']} id={rec['message_id']} {rec['method']}{flags}"
                f" text={(rec['text'] or '')[:200]!r} buttons={self.buttons(rec)}"
            )
        lines.append(f"last calls: {[method for method, _ in self.calls[-last:]]}")
        lines.append(f"pending updates: {len(self._updates)}; server errors: {self.server_errors}")
        return "\n".join(lines)

    async def wait_for_message(
        self,
        predicate: Callable[[Json], bool] | None = None,
        *,
        after: int = 0,
        timeout: float = 10.0,
    ) -> Json:
        """First bot_messages record with index >= after that matches predicate."""

        def check() -> Json | None:
            records = self.bot_messages[after:]
            return next((r for r in records if predicate is None or predicate(r)), None)

        return await self._wait_until(check, timeout, f"a bot message (index >= {after})")

    async def wait_for_messages(
        self,
        predicate: Callable[[Json], bool],
        count: int,
        *,
        after: int = 0,
        timeout: float = 10.0,
    ) -> list[Json]:
        """The first `count` bot_messages records with index >= after that match predicate
        (as they read when the last of them matched: an edit can add one)."""

        def check() -> list[Json] | None:
            found = [r for r in self.bot_messages[after:] if predicate(r)]
            return found[:count] if len(found) >= count else None

        return await self._wait_until(check, timeout, f"{count} bot messages (index >= {after})")

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        *,
        after: int = 0,
        predicate: Callable[[Json], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[Json]:
        """The parameters of the first `count` calls of `method` (any case) with index >= after
        in `calls` that match predicate: "the bot polled again", "sent its third photo"."""
        wanted = method.lower()

        def check() -> list[Json] | None:
            found = [
                params
                for name, params in self.calls[after:]
                if name.lower() == wanted and (predicate is None or predicate(params))
            ]
            return found[:count] if len(found) >= count else None

        return await self._wait_until(check, timeout, f"{count} {method} calls (index >= {after})")

    async def wait_for_edit(
        self,
        message_id: int,
        predicate: Callable[[Json], bool],
        timeout: float = 10.0,
        *,
        chat_id: int | None = None,
    ) -> Json:
        """Waits until the (latest) bot message with this id satisfies predicate."""

        def check() -> Json | None:
            for record in reversed(self.bot_messages):
                if record["message_id"] == message_id and chat_id in (None, record["chat_id"]):
                    return record if predicate(record) else None
            return None

        return await self._wait_until(check, timeout, f"message {message_id} to match")

    async def wait_for_callback_answer(self, callback_id: str, timeout: float = 10.0) -> Json:
        return await self._wait_until(
            lambda: self.answered_callbacks.get(callback_id), timeout, f"answer to {callback_id}"
        )


def _error_response(error: ApiError) -> web.Response:
    body = {"ok": False, "error_code": error.code, "description": error.description}
    return web.json_response(body, status=error.code)


@dataclass
class FakeUser:
    """A user bound to the emulator: ``emu.user(42).send_text("/start")``.

    Methods take the emulator methods' remaining arguments (``caption=``, ``reply_to=``...).
    """

    emulator: BotAPIEmulator
    user_id: int
    language_code: str = "ru"

    def send_text(self, text: str, **kwargs: Any) -> Json:
        return self.emulator.send_text(self.user_id, text, **self._lang(kwargs))

    def send_photo(self, image_bytes: bytes, **kwargs: Any) -> Json:
        return self.emulator.send_photo(self.user_id, image_bytes, **self._lang(kwargs))

    def send_document(self, data: bytes, file_name: str, mime_type: str, **kwargs: Any) -> Json:
        kwargs = self._lang(kwargs)
        return self.emulator.send_document(self.user_id, data, file_name, mime_type, **kwargs)

    def send_album(self, images: list[bytes], **kwargs: Any) -> list[Json]:
        return self.emulator.send_album(self.user_id, images, **self._lang(kwargs))

    def press_button(self, message: Json, callback_data: str) -> str:
        return self.emulator.press_button(
            self.user_id, message, callback_data, language_code=self.language_code
        )

    def press_forged(self, message: Json, callback_data: str) -> str:
        return self.emulator.press_forged(
            self.user_id, message, callback_data, language_code=self.language_code
        )

    def _lang(self, kwargs: Json) -> Json:
        return {"language_code": self.language_code, **kwargs}

    @property
    def bot_messages(self) -> list[Json]:
        """The bot's messages in this user's chat."""
        return [r for r in self.emulator.bot_messages if r["chat_id"] == self.user_id]

    async def wait_for_message(
        self,
        predicate: Callable[[Json], bool] | None = None,
        *,
        after: int = 0,
        timeout: float = 10.0,
    ) -> Json:
        """Like the emulator's, restricted to this chat; ``after`` indexes all bot_messages."""
        return await self.emulator.wait_for_message(
            lambda r: r["chat_id"] == self.user_id and (predicate is None or predicate(r)),
            after=after,
            timeout=timeout,
        )

    async def wait_for_messages(
        self,
        predicate: Callable[[Json], bool],
        count: int,
        *,
        after: int = 0,
        timeout: float = 10.0,
    ) -> list[Json]:
        """Like the emulator's, restricted to this chat; ``after`` indexes all bot_messages."""
        return await self.emulator.wait_for_messages(
            lambda r: r["chat_id"] == self.user_id and predicate(r),
            count,
            after=after,
            timeout=timeout,
        )
