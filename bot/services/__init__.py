"""Domain services, one per concern, bundled for handlers and jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import Settings
from bot.messaging import InboundFile
from bot.services.alerts import AlertService
from bot.services.broadcasts import BroadcastService
from bot.services.calls import CallService
from bot.services.dashboard import DashboardService
from bot.services.link import LinkService
from bot.services.notifier import Notifier
from bot.services.offers import OfferService
from bot.services.people import PeopleService
from bot.services.privacy import PrivacyService
from bot.services.reports import ReportService
from bot.services.tasks import TaskService
from bot.services.teams import TeamService
from bot.services.volunteers import VolunteerService
from bot.storage.alerts import AlertRepository
from bot.storage.assignments import AssignmentRepository
from bot.storage.audit import AuditLog
from bot.storage.broadcasts import BroadcastRepository
from bot.storage.calls import CallRepository
from bot.storage.conversations import ConversationRepository, UpdateLog
from bot.storage.dashboard import DashboardRepository
from bot.storage.db import Database
from bot.storage.link import LinkRepository
from bot.storage.numbered import ShownChoicesRepository
from bot.storage.offers import OfferRepository
from bot.storage.outbox import Envelope, OutboxRepository
from bot.storage.tasks import TaskRepository
from bot.storage.teams import TeamRepository
from bot.storage.volunteers import VolunteerRepository


@dataclass
class Services:
    """Everything handlers and jobs may call, built once in `bot.app`."""

    settings: Settings
    clock: Clock
    db: Database
    volunteers: VolunteerRepository
    people: PeopleService
    conversations: ConversationRepository
    updates: UpdateLog
    outbox: OutboxRepository
    audit: AuditLog
    profiles: VolunteerService
    teams: TeamService
    privacy: PrivacyService
    # One volunteer on several messengers (/link); choices shown as numbered lists.
    links: LinkService
    shown_choices: ShownChoicesRepository
    tasks: TaskService
    calls: CallService
    # Built right after the bundle, since it queues through `send_later`.
    offers: OfferService = field(init=False)
    reports: ReportService
    broadcasts: BroadcastService
    # Everything the system sends on its own goes through it, into the outbox.
    notifier: Notifier
    # Called after anything is queued, so the sender looks at once.
    wake_sender: Callable[[], None] = field(default=lambda: None)
    # Called when someone's roles change, so messengers refresh their command menu.
    roles_changed: list[Callable[[int], object]] = field(default_factory=list)
    # (channel, invite code) → what to show: a t.me link on Telegram, the bare code elsewhere.
    deep_link: Callable[[str, str], str] = field(default=lambda channel, code: f"/start {code}")
    # Per channel: fetch the bytes of a file a person sent (filled in by each messenger).
    downloads: dict[str, Callable[[InboundFile], Awaitable[bytes]]] = field(default_factory=dict)
    # Rapid response: incidents, duty, escalation, ripostes (needs the bundle to queue pages).
    alerts: AlertService = field(init=False)
    # The organizers' dashboard: its sign-in and its pages' reads.
    dashboard: DashboardService = field(init=False)

    @classmethod
    def build(cls, settings: Settings, clock: Clock, db: Database) -> Services:
        volunteers = VolunteerRepository(db, clock)
        audit = AuditLog(db, clock)
        roles_changed: list[Callable[[int], object]] = []
        task_repository = TaskRepository(db)
        assignments = AssignmentRepository(db)
        call_repository = CallRepository(db)
        outbox = OutboxRepository(db)
        # The sender is wired in after the bundle is built (`wake_sender`).
        notifier = Notifier(clock, outbox, lambda: services.wake_sender())
        services = cls(
            settings=settings,
            clock=clock,
            db=db,
            volunteers=volunteers,
            people=PeopleService(settings, volunteers),
            conversations=ConversationRepository(db),
            updates=UpdateLog(db),
            outbox=outbox,
            audit=audit,
            profiles=VolunteerService(settings, clock, volunteers),
            teams=TeamService(clock, volunteers, TeamRepository(db, clock), audit, roles_changed),
            privacy=PrivacyService(settings, clock, db, volunteers),
            roles_changed=roles_changed,
            links=LinkService(LinkRepository(db), audit, clock),
            shown_choices=ShownChoicesRepository(db),
            tasks=TaskService(settings, clock, task_repository, assignments, audit),
            calls=CallService(clock, call_repository, task_repository, audit),
            reports=ReportService(settings, clock, db, audit),
            broadcasts=BroadcastService(settings, clock, BroadcastRepository(db), audit, notifier),
            notifier=notifier,
        )
        services.alerts = AlertService(services, AlertRepository(db))
        services.dashboard = DashboardService(
            settings,
            clock,
            DashboardRepository(db),
            services.people,
            audit,
            services.tasks,
            services.calls,
        )
        services.broadcasts.task_button = services.tasks.broadcast_button
        services.offers = OfferService(
            settings,
            task_repository,
            OfferRepository(db),
            assignments,
            call_repository,
            outbox,
            volunteers,
            notifier,
        )
        return services

    async def send_later(self, envelopes: Iterable[Envelope]) -> int:
        """The Notifier's `send`, under its older name: kept only while callers move to
        `notifier`."""
        return await self.notifier.send(envelopes)
