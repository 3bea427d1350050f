"""The services as tests build them: the real bundle, plus the database under it.

Product code never reaches the database through the services; tests look into it to check
what a step left on disk, through the repositories beside the bundle (never inside it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from bot.alert_text import AlertText
from bot.broadcast_text import BroadcastText
from bot.clock import Clock
from bot.config import Settings
from bot.privacy_text import PrivacyText
from bot.services import Services
from bot.storage.assignments import AssignmentRepository
from bot.storage.audit import AuditLog
from bot.storage.broadcasts import BroadcastRepository
from bot.storage.calls import CallRepository
from bot.storage.db import Database
from bot.storage.incidents import IncidentRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.pages import PageRepository
from bot.storage.reports import ReportRepository
from bot.storage.ripostes import RiposteRepository
from bot.storage.tasks import TaskRepository
from bot.storage.teams import TeamRepository
from bot.storage.volunteers import VolunteerRepository


@dataclass(frozen=True, slots=True)
class ServicesOnDisk(Services):
    """Services with the database they run on, and the repositories tests read it with."""

    db: Database
    volunteers: VolunteerRepository
    audit: AuditLog
    outbox: OutboxRepository
    team_repo: TeamRepository
    assignment_repo: AssignmentRepository
    call_repo: CallRepository
    incident_repo: IncidentRepository
    page_repo: PageRepository
    riposte_repo: RiposteRepository
    report_repo: ReportRepository
    broadcast_repo: BroadcastRepository
    task_repo: TaskRepository


def services_on(settings: Settings, clock: Clock, db: Database, **options: Any) -> ServicesOnDisk:
    """Every service on `db`, as `Services.build` makes them (with the words `bot.core`
    gives them), with `db` beside them."""
    options.setdefault("alert_words", AlertText(settings))
    options.setdefault("privacy_words", PrivacyText())
    options.setdefault("broadcast_words", BroadcastText(settings))
    built = Services.build(settings, clock, db, **options)
    return with_db(built, db)


def with_db(services: Services, db: Database) -> ServicesOnDisk:
    return ServicesOnDisk(
        **{f.name: getattr(services, f.name) for f in fields(services)},
        db=db,
        volunteers=VolunteerRepository(db, services.clock),
        audit=AuditLog(db, services.clock),
        outbox=OutboxRepository(db),
        team_repo=TeamRepository(db, services.clock),
        assignment_repo=AssignmentRepository(db),
        call_repo=CallRepository(db),
        incident_repo=IncidentRepository(db),
        page_repo=PageRepository(db),
        riposte_repo=RiposteRepository(db),
        report_repo=ReportRepository(db),
        broadcast_repo=BroadcastRepository(db),
        task_repo=TaskRepository(db),
    )
