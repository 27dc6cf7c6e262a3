"""Wiring: the Bot, the Dispatcher and the long-lived objects, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.alerts import AdminAlerts
from bot.command_parsing import bot_commands
from bot.i18n import catalogs
from bot.jobs import JobRunner
from bot.middlewares import AlbumMiddleware, FailedCallbacks, LocaleMiddleware, UserMiddleware
from bot.prebuild import prebuild_response_models
from bot.ratelimit import RateLimitMiddleware
from bot.retention import RetentionTask
from bot.retry import RetryRequests
from bot.sets.collector import BurstBreaker, SetCollector
from bot.sets.runner import SetRunner
from bot.settings import Settings
from bot.storage import Storage
from handlers import get_routers
from handlers.error_answers import on_error
from services.scheduler import ModelServices
from services.weights import tiny_models

log = logging.getLogger("vitrina.bot")


def build_services(settings: Settings, *, preload: bool = False) -> ModelServices:
    return ModelServices(settings.service_config(preload=preload))


class Application:
    """The running bot. `await run()` polls until `await stop()` (or a signal)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        built_s = prebuild_response_models()
        log.debug("Bot API response models built in %.0f ms", built_s * 1000)
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        session.middleware(RetryRequests())
        self.bot = Bot(
            settings.require_bot_token(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        self.db = Storage(settings.database_path, settings.photos_dir)
        self.services = build_services(settings, preload=True)
        self.alerts = AdminAlerts(self.bot, self.db, settings.admin_ids, settings.weights_dir)
        self.retention = RetentionTask(self.db, settings.retention_days)
        self.jobs = JobRunner(
            self.bot, self.db, self.services, self.alerts, settings.progress_interval_s
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
        # Our storage is `db`: aiogram reserves Dispatcher(storage=...) for FSM storage.
        self.dp = Dispatcher(
            db=self.db,
            services=self.services,
            jobs=self.jobs,
            sets=self.sets,
            set_runs=self.set_runs,
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
        self.dp.include_routers(*get_routers())
        self.dp.errors.register(on_error)
        self.dp.startup.register(self._on_startup)
        self.dp.shutdown.register(self._on_shutdown)

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
        self.retention.start()
        me = await bot.get_me()
        log.info(
            "bot @%s started (%d unfinished jobs queued again, %d set runs go on)",
            me.username,
            resumed,
            runs,
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
        await self.sets.stop()
        await self.set_runs.stop()
        await self.jobs.stop()
        await self.services.stop()
        await self.db.close()
        log.info("bot stopped")

    async def run(self, *, handle_signals: bool = True) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        try:
            await self.dp.start_polling(
                self.bot,
                handle_signals=handle_signals,
                allowed_updates=self.dp.resolve_used_update_types(),
                polling_timeout=10,
            )
        except BaseException:  # a failed start-up: aiogram leaves the HTTP session open
            await self.bot.session.close()
            raise

    async def stop(self) -> None:
        await self.dp.stop_polling()
