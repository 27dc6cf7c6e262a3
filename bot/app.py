"""Wiring: the Bot, the Dispatcher and the long-lived objects, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand
from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.alerts import AdminAlerts
from bot.i18n import catalogs
from bot.inbox.inbox import Inbox
from bot.inbox.polling import Poller
from bot.inbox.webhook import WebhookReceiver
from bot.jobs import JobRunner
from bot.metrics import BotMetrics
from bot.middlewares import AlbumMiddleware, FailedCallbacks, LocaleMiddleware, UserMiddleware
from bot.ops import menu_commands
from bot.owned import OwnedRows
from bot.prebuild import prebuild_response_models
from bot.publish.runner import PublishRunner
from bot.publish.tokens import TokenKeeper
from bot.ratelimit import RateLimitMiddleware
from bot.retention import RetentionTask
from bot.retry import RetryRequests
from bot.sets.collector import BurstBreaker, SetCollector
from bot.sets.runner import SetRunner
from bot.settings import Settings
from bot.storage import Storage
from bot.storage.fsm import SqliteStorage
from bot.texts import t
from handlers import get_routers
from handlers.edit_prompt import PROMPT_TIMEOUT_S
from handlers.error_answers import on_error
from services.scheduler import ModelServices
from services.weights import tiny_models

log = logging.getLogger("vitrina.bot")
#: a dialogue's state (the Edit button's question) is kept this long in SQLite
DIALOGUE_TTL_S = PROMPT_TIMEOUT_S
#: at a stop, how long updates being handled may take before they are left for the next start
HANDLERS_GRACE_S = 5.0


def build_services(settings: Settings, *, preload: bool = False) -> ModelServices:
    return ModelServices(settings.service_config(preload=preload))


class Application:
    """The running bot. `await run()` takes updates (long polling, or the webhook with
    WEBHOOK_URL) until `await stop()` (or a signal)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        built_s = prebuild_response_models()
        log.debug("Bot API response models built in %.0f ms", built_s * 1000)
        self.db = Storage(settings.database_path, settings.photos_dir)
        self.services = build_services(settings, preload=True)
        self.metrics = BotMetrics(self.services)
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        session.middleware(
            RetryRequests(time_scale=settings.retry_after_scale, metrics=self.metrics)
        )
        self.bot = Bot(
            settings.require_bot_token(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        self.alerts = AdminAlerts(self.bot, self.db, settings.admin_ids, settings.weights_dir)
        self.retention = RetentionTask(self.db, settings.retention_days)
        self.metrics_server = (
            self.metrics.server(settings.metrics_port, self.db) if settings.metrics_port else None
        )
        self.jobs = JobRunner(
            self.bot,
            self.db,
            self.services,
            self.alerts,
            settings.progress_interval_s,
            progress_delay_s=settings.progress_delay_s,
        )
        # Sets (catalogues): photos sent together, and one action run over all of them.
        self.sets = SetCollector(
            self.bot,
            self.db,
            self.services,
            window_s=settings.set_window_s,
            max_unprocessed=settings.max_unprocessed_photos,
            max_bytes=settings.max_image_bytes,
        )
        self.set_runs = SetRunner(
            self.bot,
            self.db,
            self.services,
            self.alerts,
            self.jobs.delivery,
            settings.progress_interval_s,
        )
        # Publishing (issue 30): sellers' tokens sealed with SECRET_KEY, uploads as runs.
        self.tokens = TokenKeeper(self.db, settings)
        self.publisher = PublishRunner(
            self.bot, self.db, self.tokens, settings.progress_interval_s
        )
        # Our storage is `db`: aiogram reserves Dispatcher(storage=...) for FSM storage,
        # which is the same SQLite file (a dialogue survives a restart).
        self.dp = Dispatcher(
            storage=SqliteStorage(self.db, DIALOGUE_TTL_S),
            db=self.db,
            services=self.services,
            jobs=self.jobs,
            sets=self.sets,
            set_runs=self.set_runs,
            tokens=self.tokens,
            publisher=self.publisher,
            settings=settings,
        )
        # Albums first: the user check then sees one event (and its caption) per album.
        # Then flood control, before the user middleware touches the database.
        self.rate_limit = RateLimitMiddleware(
            settings.rate_limit_per_minute, settings.rate_limit_burst
        )
        self.dp.message.outer_middleware(AlbumMiddleware())
        self.dp.message.outer_middleware(self.rate_limit)
        self.dp.callback_query.outer_middleware(self.rate_limit)
        self.dp.message.outer_middleware(UserMiddleware(settings, self.db))
        self.dp.callback_query.outer_middleware(UserMiddleware(settings, self.db))
        # A command or a button between photos ends their burst: the next photo is alone.
        self.dp.message.outer_middleware(BurstBreaker(self.sets))
        self.dp.callback_query.outer_middleware(BurstBreaker(self.sets))
        # After the user middleware: the language comes from the user row it loaded.
        locale = LocaleMiddleware(catalogs())  # compiles the catalogs if a .mo is stale
        self.dp.message.outer_middleware(locale)
        self.dp.callback_query.outer_middleware(locale)
        # Every button press is answered once, after its handler: empty unless the handler set
        # `callback_answer.text`; a handler that raised leaves it to the error handler's alert.
        self.dp.callback_query.middleware(CallbackAnswerMiddleware())
        self.dp.callback_query.middleware(FailedCallbacks())
        # A button's row (`flags=owned(...)`): gone or another user's is refused (that answer).
        self.dp.callback_query.middleware(OwnedRows())
        self.dp.include_routers(*get_routers())
        self.dp.errors.register(on_error)
        self.dp.startup.register(self._on_startup)
        self.dp.shutdown.register(self._on_shutdown)
        # aiogram's polling passes these to every handler too (`bots`)
        self.inbox = Inbox(self.dp, self.bot, self.db, self.metrics, bots=(self.bot,))
        self._stop: asyncio.Event | None = None
        self._stopped = asyncio.Event()

    async def _on_startup(self, bot: Bot) -> None:
        await self.db.open()
        try:
            await self._start(bot)
        except BaseException:  # the process must be able to exit: close what was opened
            with contextlib.suppress(Exception):
                await self.services.stop()
            await self.db.close()
            raise

    async def _start(self, bot: Bot) -> None:
        await self.services.start()
        await bot.set_my_commands(bot_commands("en"))
        await bot.set_my_commands(bot_commands("ru"), language_code="ru")
        for op, missing in self.services.availability().items():
            if missing:
                log.warning(
                    "%s unavailable: missing weights %s in %s (run 'vitrina weights download')",
                    op,
                    ", ".join(missing),
                    self.settings.weights_dir,
                )
        for name in tiny_models(self.settings.weights_dir):
            log.warning("%s: tiny random weights in use, its outputs are noise", name)
        resumed = await self.jobs.resume_unfinished()
        runs = await self.set_runs.resume_unfinished()
        uploads = await self.publisher.resume_unfinished()
        self.retention.start()
        if self.metrics_server is not None:
            await self.metrics_server.start()
        me = await bot.get_me()
        log.info(
            "bot @%s started (%d unfinished jobs queued again, %d set runs and %d uploads go on)",
            me.username,
            resumed,
            runs,
            uploads,
        )

    async def _on_shutdown(self) -> None:
        """SIGTERM: polling has stopped; the running job gets SHUTDOWN_GRACE_S to finish and
        be delivered, else it is left for a re-run at the next start (its row says so)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        grace = self.settings.shutdown_grace_s
        finished = await self.services.drain(grace)
        await self.jobs.drain(grace - (loop.time() - started))
        if not finished:
            log.warning("shutdown: the running job did not finish in %.0fs; it will re-run", grace)
        await self.retention.stop()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        await self.sets.stop()
        await self.set_runs.stop()
        await self.publisher.stop()
        await self.jobs.stop()
        await self.services.stop()
        await self.db.close()
        log.info("bot stopped")

    async def run(self, *, handle_signals: bool = True, freeze_heap: bool = False) -> None:
        """Start (dp.startup), handle again what a previous run stored and did not finish,
        then take updates until stopped; then let handlers finish and stop (dp.shutdown).
        `freeze_heap` (the bot's own process, `python -m bot`): see below."""
        self._stop = stop = asyncio.Event()
        self._stopped.clear()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for signum in signals:
            loop.add_signal_handler(signum, self._signalled, signum)
        context = {"dispatcher": self.dp, "bots": (self.bot,), **self.dp.workflow_data}
        try:
            if not self.settings.webhook_url:
                await self.bot.delete_webhook(drop_pending_updates=False)
            await self.dp.emit_startup(bot=self.bot, **context)
        except BaseException:  # a failed start-up: nothing to drain, the session must close
            await self._close(signals)
            raise
        try:
            await self.inbox.replay()
            if freeze_heap:
                # What start-up made (modules, aiogram's type models, caches) lives as long
                # as the process: out of the collector's sight, a full collection no longer
                # walks it (issue 21, P1: 100-220 ms pauses of the loaded bot, in whichever
                # thread ran them). Not for a bot started in a test's process: what earlier
                # tests left for the collector would be frozen with it.
                gc.freeze()
            await self._receiver().run(stop)
        finally:
            try:
                await self.inbox.drain(min(HANDLERS_GRACE_S, self.settings.shutdown_grace_s))
                await self.dp.emit_shutdown(bot=self.bot, **context)
            finally:
                await self._close(signals)

    def _receiver(self) -> Poller | WebhookReceiver:
        allowed = self.dp.resolve_used_update_types()
        settings = self.settings
        if not settings.webhook_url:
            return Poller(self.bot, self.inbox, allowed_updates=allowed, timeout_s=10)
        return WebhookReceiver(
            self.bot,
            self.dp,
            self.inbox,
            url=settings.webhook_url,
            path=settings.webhook_path,
            host=settings.webhook_listen,
            port=settings.webhook_port,
            # none set: a new one each start (setWebhook tells Telegram), never logged
            secret=settings.webhook_secret.get() or secrets.token_urlsafe(32),
            allowed_updates=allowed,
        )

    def _signalled(self, signum: signal.Signals) -> None:
        log.warning("received %s: stopping", signum.name)
        if self._stop is not None:
            self._stop.set()

    async def _close(self, signals: tuple[signal.Signals, ...]) -> None:
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.remove_signal_handler(signum)
        await self.bot.session.close()
        self._stop = None
        self._stopped.set()

    async def stop(self) -> None:
        """Stop taking updates and wait until the bot has stopped."""
        if self._stop is None:
            raise RuntimeError("the bot is not running")
        self._stop.set()
        await self._stopped.wait()


def bot_commands(lang: str) -> list[BotCommand]:
    """The menu Telegram shows next to the input field (built from the operations' specs)."""
    return [BotCommand(command=c, description=t(lang, key)) for c, key in menu_commands()]
