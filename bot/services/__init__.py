"""Domain services, one per concern, bundled for handlers and jobs.

`Services.build` is the one place they are made, each given its collaborators explicitly;
the bundle is frozen: nothing is added or replaced once it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.messaging import Messengers, RolesChanged
from bot.services.alerts import AlertService, AlertWords
from bot.services.broadcasts import BroadcastService, BroadcastWords
from bot.services.calls import CallService
from bot.services.chats import ChatService
from bot.services.dashboard import DashboardService
from bot.services.joining import JoiningService
from bot.services.link import LinkService
from bot.services.notifier import Notifier
from bot.services.offers import OfferService
from bot.services.people import Admins, PeopleService
from bot.services.privacy import PrivacyService, PrivacyWords
from bot.services.reports import ReportService
from bot.services.tasks import TaskService
from bot.services.teams import TeamService
from bot.services.volunteers import VolunteerService
from bot.storage.assignments import AssignmentRepository
from bot.storage.audit import AuditLog
from bot.storage.backend import Store, when_committed
from bot.storage.broadcasts import BroadcastRepository
from bot.storage.calls import CallRepository
from bot.storage.dashboard import DashboardRepository
from bot.storage.duty import DutyRepository
from bot.storage.incidents import IncidentRepository
from bot.storage.link import LinkRepository
from bot.storage.numbered import ShownChoicesRepository
from bot.storage.offers import OfferRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.pages import PageRepository
from bot.storage.ripostes import RiposteRepository
from bot.storage.tasks import TaskRepository
from bot.storage.teams import TeamRepository
from bot.storage.volunteers import VolunteerRepository


def _no_sender() -> None:
    """Where no sender runs (the command line, tests): the outbox waits for the bot."""


@dataclass(frozen=True, slots=True)
class Basics:
    """What the rapid-response service is built on: the campaign's settings (frozen) and
    clock, who is an admin, the messengers, the repositories it shares with others, and the
    Notifier. A collaborator of `AlertService`, never handed to handlers."""

    settings: Settings
    clock: Clock
    admins: Admins
    messengers: Messengers
    volunteers: VolunteerRepository
    audit: AuditLog
    outbox: OutboxRepository
    # Everything the system sends on its own goes through it, into the outbox.
    notifier: Notifier
    # Called after anything is queued, so the sender looks at once.
    wake_sender: Callable[[], None]

    @property
    def roles_changed(self) -> list[RolesChanged]:
        """Called when someone's roles change, so messengers refresh their command menu."""
        return self.messengers.role_watchers


@dataclass(frozen=True, slots=True)
class Services:
    """Everything handlers, jobs, the command line and the dashboard may call: services
    only. Repositories are private collaborators of the services that own their rules
    (tests/test_architecture.py fails on a repository field here)."""

    # The campaign's settings, frozen for the life of the process.
    settings: Settings
    clock: Clock
    admins: Admins
    # What each running messenger offers (invite links, file downloads).
    messengers: Messengers
    # Everything the system sends on its own goes through it, into the outbox.
    notifier: Notifier
    people: PeopleService
    profiles: VolunteerService
    teams: TeamService
    # Consent and invitations, as the joining flow asks for them (one call each).
    joining: JoiningService
    privacy: PrivacyService
    # One volunteer on several messengers (/link).
    links: LinkService
    tasks: TaskService
    calls: CallService
    offers: OfferService
    reports: ReportService
    broadcasts: BroadcastService
    # Rapid response: incidents, duty, escalation, ripostes.
    alerts: AlertService
    # Replays, flows in progress, numbered choices shown: the router's turn per update.
    chats: ChatService
    # The organizers' dashboard: its sign-in and its pages' reads.
    dashboard: DashboardService

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock,
        db: Store,
        *,
        alert_words: AlertWords,
        privacy_words: PrivacyWords,
        broadcast_words: BroadcastWords,
        messengers: Messengers | None = None,
        wake_sender: Callable[[], None] | None = None,
    ) -> Services:
        """Every service on one database and clock. `alert_words`, `privacy_words` and
        `broadcast_words` say what rapid response, the retention sweep and broadcasts send
        (presenters: services choose no words); `messengers` is filled in by the bot as
        each messenger starts; `wake_sender` is the running sender's bell, if any."""
        ring = wake_sender or _no_sender

        def bell() -> None:
            when_committed(ring)

        outbox = OutboxRepository(db)
        basics = Basics(
            settings=settings,
            clock=clock,
            admins=Admins(settings.admins),
            messengers=messengers or Messengers(),
            volunteers=VolunteerRepository(db, clock),
            audit=AuditLog(db, clock),
            outbox=outbox,
            notifier=Notifier(clock, outbox, bell),
            wake_sender=bell,
        )
        volunteers, audit = basics.volunteers, basics.audit
        task_repository = TaskRepository(db)
        assignments = AssignmentRepository(db)
        call_repository = CallRepository(db)
        tasks = TaskService(settings, clock, task_repository, assignments, call_repository, audit)
        links = LinkRepository(db)
        people = PeopleService(basics.admins, clock, volunteers, links, outbox)
        calls = CallService(clock, call_repository, task_repository, audit)
        profiles = VolunteerService(settings, clock, volunteers)
        teams = TeamService(
            clock,
            volunteers,
            TeamRepository(db, clock),
            audit,
            basics.roles_changed,
            basics.notifier,
        )
        return cls(
            settings=settings,
            clock=clock,
            admins=basics.admins,
            messengers=basics.messengers,
            notifier=basics.notifier,
            people=people,
            profiles=profiles,
            teams=teams,
            joining=JoiningService(profiles, teams),
            privacy=PrivacyService(
                settings,
                clock,
                db,
                volunteers,
                audit,
                privacy_words,
                basics.messengers.erasure_watchers,
            ),
            links=LinkService(links, audit, clock),
            tasks=tasks,
            calls=calls,
            offers=OfferService(
                settings,
                task_repository,
                OfferRepository(db),
                assignments,
                call_repository,
                basics.outbox,
                volunteers,
                basics.notifier,
            ),
            reports=ReportService(settings, clock, db, audit),
            broadcasts=BroadcastService(
                settings,
                clock,
                BroadcastRepository(db),
                audit,
                basics.notifier,
                broadcast_words,
                task_to_offer=tasks.task_to_offer,
            ),
            alerts=AlertService(
                basics,
                IncidentRepository(db),
                PageRepository(db),
                DutyRepository(db),
                RiposteRepository(db),
                alert_words,
            ),
            chats=ChatService(db, ShownChoicesRepository(db)),
            dashboard=DashboardService(
                settings, clock, DashboardRepository(db), people, audit, tasks
            ),
        )
