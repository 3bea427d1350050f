"""The composition root: settings → database → migrations → services → router and
handlers → transports → sender → scheduler. Shutdown runs in reverse."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TextIO

import handlers
from bot.clock import Clock, SystemClock
from bot.cluster import Cluster, Duty
from bot.config import Identity, Settings
from bot.core import open_core
from bot.dashboard.server import DashboardServer
from bot.i18n import _, use_language
from bot.jobs import register_jobs
from bot.messaging import Inbound, Messengers, Outbound
from bot.places import preload as preload_places
from bot.router import AnswerLane, Router
from bot.scheduler import Scheduler
from bot.sender import Lane, Sender
from bot.services import Services
from bot.services.signal_account import report_captcha
from bot.signal_text import captcha_notice
from bot.storage.connect import database_for
from bot.storage.db import StorageMissing
from bot.storage.outbox import REPLY, Envelope, OutboxRepository
from bot.storage.process_lock import ProcessLock
from bot.transports import Transport, answers_taken
from bot.transports.console import ConsoleTransport
from bot.transports.signal import Captcha, SignalTransport
from bot.transports.signal_client import SignalClient
from bot.transports.telegram import TelegramTransport

log = logging.getLogger(__name__)
# Pages and answers on Signal: at most this many a second (the outbox keeps RELAIS_SIGNAL_RATE).
SIGNAL_INTERACTIVE_RATE = 2.0

# How often the bot checks that its database file is still there (deleted or moved away).
DATABASE_CHECK_SECONDS = 2.0
# Several processes: a NOTIFY (the outbox's trigger) wakes the sender when rows are queued;
# it looks by itself this often only for rows due later (retries, the end of quiet hours).
NOTIFIED_IDLE_LOOK_S = 15.0


class Relais:
    """One running bot: every messenger, one database, one event loop."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        if not settings.telegram_token and not settings.signal_cli_url:
            # The console's own user is the admin, so every flow can be tried offline.
            settings = replace(settings, admins=settings.admins | {Identity("console", "1")})
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = database_for(
            settings.database_path, settings.database_url, pool_size=settings.pg_pool
        )
        self.stdin = stdin
        self.stdout = stdout
        self.stopping = asyncio.Event()
        self.started = asyncio.Event()
        self.transports: list[Transport] = []
        self.console: ConsoleTransport | None = None
        self.telegram: TelegramTransport | None = None
        self.signal: SignalTransport | None = None
        self.dashboard: DashboardServer | None = None
        self.database_lost = ""
        # Several processes on PostgreSQL: the roles this one was elected for.
        self.cluster: Cluster | None = None

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or the end of console input); StorageMissing if the
        database file vanished meanwhile."""
        # First thing: a stop request during start-up must still end in a clean shutdown.
        self._install_signals()
        if self.settings.database_url:
            # PostgreSQL: several processes may share it; they elect who does what.
            self.cluster = Cluster(
                self.settings.database_url,
                turns=self.settings.pg_turns,
                pool_size=self.settings.pg_pool,
            )
            await self._run()
            return
        # Before the database is even opened: a second Relais must not touch it at all.
        lock = ProcessLock(self.settings.database_path)
        lock.acquire()
        try:
            await self._run()
        finally:
            lock.release()
        if self.database_lost:
            raise StorageMissing(self.database_lost)

    async def _run(self) -> None:
        # The sender first: every service that queues a message rings its bell.
        sender = Sender(
            OutboxRepository(self.db),
            self.clock,
            resend_after_crash=self.settings.resend_after_crash,
        )
        messengers = Messengers()
        # Several processes: the one elected to send is woken through the database.
        wake = sender.wake if self.cluster is None else self.cluster.outbox_queued
        async with open_core(
            self.settings, self.clock, db=self.db, messengers=messengers, wake_sender=wake
        ) as services:
            router = Router(services)
            handlers.register(router)
            self.router = router
            self.services = services
            cluster = self.cluster
            self._build_transports(services, router, sender, messengers)
            for lane in sender.lanes.values():
                lane.quiet_until = services.broadcasts.quiet_until
            scheduler = Scheduler(self.settings.timezone)
            register_jobs(scheduler, services)
            if cluster is None:
                # Before any update comes in: what the last process left being sent goes
                # out again, and never an answer handled here since (it is in the lane).
                await sender.recover()
                for transport in self.transports:
                    await transport.start()
            else:
                await self._start_elected(cluster, services, sender, scheduler)
            if self.settings.dashboard_url:
                self.dashboard = DashboardServer.from_settings(services)
                await self.dashboard.start()
            self._wire_volunteers(services, router, messengers)
            await self._publish_menus(services, router)
            if cluster is None:
                await sender.start()
                scheduler.start()
            else:
                # A lone process takes every role here, before it says it is running.
                await cluster.start()
            log.info("Relais is running (%s)", ", ".join(self._channel_states()))
            self.started.set()
            watchdog = asyncio.create_task(self._watch_database())
            preload_places()
            await self._console_dashboard_link(services)
            try:
                if self.console is not None:
                    console_task = asyncio.create_task(self.console.run())
                    stop_task = asyncio.create_task(self.stopping.wait())
                    await asyncio.wait(
                        {console_task, stop_task}, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in (console_task, stop_task):
                        task.cancel()
                else:
                    await self.stopping.wait()
            finally:
                log.info("Relais is stopping")
                watchdog.cancel()
                if self.telegram is not None:
                    # No more updates taken; those in hand get a few seconds, and what is
                    # unfinished then (a stuck chat) is kept for the next start.
                    await self.telegram.stop_polling()
                if cluster is not None:
                    await cluster.stop()  # roles handed over, messages in hand put back
                scheduler.stop()
                if self.dashboard is not None:
                    await self.dashboard.stop()
                await sender.stop()
                for transport in reversed(self.transports):
                    await transport.stop()

    async def _console_dashboard_link(self, services: Services) -> None:
        """On the console, the admin gets a link that opens the dashboard at once."""
        if self.console is None or self.dashboard is None:
            return
        actor = await services.people.actor(Identity("console", "1"), "1")
        code = await services.dashboard.link_code(actor)
        self.console.stdout.write(
            _("Dashboard (one use, 10 minutes; /dashboard gives another): {link}").format(
                link=f"{self.dashboard.url}/login/{code}"
            )
            + "\n"
        )
        self.console.stdout.flush()

    async def _start_elected(
        self, cluster: Cluster, services: Services, sender: Sender, scheduler: Scheduler
    ) -> None:
        """Several processes: each accepts updates, and does what it was elected for.

        Every process takes Telegram's webhook updates, each chat in its turn across all of
        them, and writes its answers to the outbox; the process elected for a messenger
        sends its outbox lane (and polls Telegram, or reads Signal's event stream); the one
        elected for the scheduler runs the jobs.
        """
        # Connected first: the webhook may take an update the moment it listens.
        await cluster.connect()
        for lane in sender.lanes.values():
            lane.idle_look = NOTIFIED_IDLE_LOOK_S
        cluster.on_outbox_queued = sender.wake
        telegram, signal_transport = self.telegram, self.signal
        if telegram is not None:
            await telegram.start(poll=False)
            telegram.turn = lambda chat_id: cluster.chat_turn("telegram", chat_id)

            async def queue_reply(chat_id: str, outbound: Outbound) -> None:
                await services.notifier.send(
                    [Envelope("reply", "telegram", chat_id, outbound, priority=REPLY)]
                )

            telegram.queue_reply_durably = queue_reply
            # An update's answers are queued with what it changed, for the elected sender.
            self.router.lanes["telegram"] = AnswerLane(
                lambda _rows: cluster.outbox_queued(), in_hand=False
            )

            async def send_telegram() -> None:
                await sender.lead("telegram")
                await telegram.start_polling()

            async def stop_sending_telegram() -> None:
                await telegram.stop_polling()
                await sender.step_down("telegram")

            cluster.add("telegram sender", Duty(send_telegram, stop_sending_telegram))
        if signal_transport is not None:
            # Signal's answers stay in this process's lane (bot/app.py `_wire`): one role
            # reads its event stream and sends its outbox, so the process that read a
            # message is the one that sends its answers, and it reads the chat's next
            # message once they are on screen (numbered, the board remembered).
            await signal_transport.start(listen=False)

            async def run_signal() -> None:
                await sender.lead("signal")
                await signal_transport.start_events()

            async def stop_signal() -> None:
                await signal_transport.stop_events()
                await sender.step_down("signal")

            cluster.add("signal reader and sender", Duty(run_signal, stop_signal))
        if self.console is not None:
            await self.console.start()

            async def send_console() -> None:
                await sender.lead("console")

            async def stop_console() -> None:
                await sender.step_down("console")

            cluster.add("console sender", Duty(send_console, stop_console))
        scheduler.start(paused=True)
        cluster.add("scheduler", Duty(scheduler.resume, scheduler.pause))

    async def _watch_database(self) -> None:
        """Stop, loudly, if the database file is deleted or replaced under the running bot:
        everything written after that would be lost when it stops."""
        if self.cluster is not None:
            return  # PostgreSQL: no file to vanish
        while not self.stopping.is_set():
            await asyncio.sleep(DATABASE_CHECK_SECONDS)
            if self.db.vanished():
                self.database_lost = _(
                    "the database file {path} was deleted or replaced while Relais was "
                    "running; Relais stopped so that nothing more is lost. Restore it from a "
                    "backup (or run `python -m bot migrate` to start an empty one)."
                ).format(path=self.db.path)
                log.error("%s", self.database_lost)
                self.stopping.set()

    def _channel_states(self) -> list[str]:
        """The messengers running, and which of them cannot work yet."""
        return [
            "signal: account not registered, see above"
            if t is self.signal and self.signal.registered is False
            else t.channel
            for t in self.transports
        ]

    def _build_transports(
        self, services: Services, router: Router, sender: Sender, messengers: Messengers
    ) -> None:
        settings = self.settings
        if settings.telegram_token:
            self.telegram = TelegramTransport(
                settings, router.dispatch, on_blocked=self._blocked_handler(services)
            )
            # Polled updates in hand too long are kept there, then acknowledged.
            self.telegram.inbox = services.chats.inbox("telegram", services.clock.now)
            self.transports.append(self.telegram)
            messengers.serve("telegram", download=self.telegram.download)
            pace = Lane(paid_per_second=float(settings.paid_broadcast_rate))
            if settings.telegram_rate:
                pace = replace(pace, per_second=float(settings.telegram_rate))
            lane = sender.add(self.telegram, pace)
            self.telegram.queue_reply = lane.submit
            if self.cluster is None:
                # One process: an update's answers are written with what it changed, and
                # this lane sends them (with several, the elected sender sends the outbox).
                router.lanes["telegram"] = AnswerLane(lambda rows: answers_taken(lane.take(rows)))
        if settings.signal_cli_url:
            self.signal = self._signal_transport(services, router)
            self.transports.append(self.signal)
            messengers.serve("signal", download=self.signal.download)
            messengers.watch_erasures(self.signal.forget)
            # One at a time, slowly: Signal's limits are unpublished and it bans bursts. Pages
            # and answers to people keep a pace of their own, ahead of the outbox's.
            rate = settings.signal_rate
            signal_lane = sender.add(
                self.signal,
                Lane(
                    per_second=rate,
                    per_chat_interval=0.0,
                    concurrency=1,
                    interactive_per_second=max(rate, SIGNAL_INTERACTIVE_RATE),
                ),
            )

            async def send_signal_reply(
                chat_id: str, outbound: Outbound, deliver: Callable[[], Awaitable[str]]
            ) -> str:
                return await signal_lane.send(chat_id, outbound, REPLY, send=deliver)

            self.signal.send_reply = send_signal_reply
            # As on Telegram: answers are written with what their update changed, and the
            # lane sends them (numbered, then remembered on the chat's board). With several
            # processes too: the one reading Signal's events is the one sending its outbox.
            router.lanes["signal"] = AnswerLane(lambda rows: answers_taken(signal_lane.take(rows)))
        if not self.transports:
            self.console = ConsoleTransport(
                router.dispatch,
                settings.language,
                stdin=self.stdin,
                stdout=self.stdout,
                boards=services.chats,
                clock=self.clock,
            )
            self.transports.append(self.console)
            messengers.watch_erasures(self.console.forget)
            console_lane = sender.add(self.console, Lane(per_second=50.0, per_chat_interval=0.0))
            self.console.send_reply = console_lane.send
            # Written with what their update changed, printed by this process's lane (with
            # several processes too: this terminal is where they are read).
            router.lanes["console"] = AnswerLane(
                lambda rows: answers_taken(console_lane.take(rows))
            )

    def _signal_transport(self, services: Services, router: Router) -> SignalTransport:
        settings = self.settings

        async def on_captcha(captcha: Captcha) -> None:
            await report_captcha(services, captcha.token, captcha_notice)

        return SignalTransport(
            SignalClient(settings.signal_cli_url, settings.signal_account),
            router.dispatch,
            services.chats,
            account=settings.signal_account,
            clock=self.clock,
            commands=router.command_words,
            on_captcha=on_captcha,
            # RELAIS_ADMINS may name a Signal admin by number; Relais knows people by UUID.
            on_sender=services.admins.learn_signal_account,
        )

    def _blocked_handler(self, services: Services):  # type: ignore[no-untyped-def]
        async def on_blocked(chat_id: str, blocked: bool) -> None:
            if blocked:
                await services.people.blocked("telegram", chat_id)

        return on_blocked

    def _wire_volunteers(self, services: Services, router: Router, messengers: Messengers) -> None:
        """Invite links point at this bot; a role change refreshes that person's menu."""
        telegram = self.telegram
        if telegram is None:
            return
        username = telegram.bot_username

        def invite_link(code: str) -> str:
            return f"https://t.me/{username}?start={code}" if username else f"/start {code}"

        async def refresh_menu(volunteer_id: int) -> None:
            for channel, user_id, chat_id in await services.people.accounts(volunteer_id):
                if channel != "telegram":
                    continue
                actor = await services.people.actor(Identity(channel, user_id), chat_id)
                language = actor.volunteer.language if actor.volunteer else self.settings.language
                await telegram.publish_chat_menu(
                    chat_id, actor.rank, language, lambda rank: _menu(router, rank)
                )
                await self._dashboard_button(chat_id, actor.rank != "volunteer", language)

        messengers.serve("telegram", download=telegram.download, invite_link=invite_link)
        messengers.watch_roles(refresh_menu)

    async def _publish_menus(self, services: Services, router: Router) -> None:
        if self.telegram is None:
            return

        def menu(rank: str) -> list[tuple[str, str]]:
            return _menu(router, rank)

        try:
            await self.telegram.publish_menu(menu)
            for admin in services.admins:
                if admin.channel == "telegram":
                    await self.telegram.publish_chat_menu(
                        admin.user_id, "admin", self.settings.language, menu
                    )
                    await self._dashboard_button(admin.user_id, True, self.settings.language)
        except Exception:
            log.exception("command menus could not be published")

    async def _dashboard_button(self, chat_id: str, organizer: bool, language: str) -> None:
        """Organizers' menu button opens the dashboard inside Telegram (HTTPS only)."""
        url = self.dashboard.url if self.dashboard else ""
        if self.telegram is None or not url.startswith("https://"):
            return
        with use_language(language):
            label = _("Dashboard")
        await self.telegram.publish_menu_button(chat_id, label, f"{url}/tg" if organizer else "")

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self.stopping.set)
            except (NotImplementedError, RuntimeError):
                pass

    async def dispatch(self, inbound: Inbound) -> list[Outbound]:
        return await self.router.dispatch(inbound)


def _menu(router: Router, rank: str) -> list[tuple[str, str]]:
    """The command menu of a rank, in the current language."""
    from bot.i18n import _

    return [(c.name, _(c.description)) for c in router.menu(rank)]
