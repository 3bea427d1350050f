"""Tasks: progress of each task in the organizer's teams; pause, resume, close; a new task
checked by the same rules as /newtask."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiohttp import web

from bot.dashboard.html import csrf_field, e, layout, notice, post_button, select
from bot.dashboard.server import check_csrf, html, see_other, services_of, signed
from bot.domain.tasks import KINDS, TaskDraft
from bot.i18n import N_, _, ngettext
from bot.report_text import KIND_LABELS
from bot.services.people import NotAllowed
from bot.services.tasks import TaskError

STATUS_LABELS = {"open": N_("open"), "paused": N_("paused"), "closed": N_("closed")}
# The points /newtask gives each kind.
POINTS = {"share": 1, "text": 2, "custom": 1, "event": 3, "call": 3, "canvass": 5}
PROBLEMS = {
    "kind": N_("Choose what kind of task it is."),
    "title": N_("The title is missing or longer than 200 characters."),
    "instructions": N_("The instructions are longer than 3000 characters."),
    "quota": N_("The number of people wanted must be at least 1."),
    "numbers": N_("These numbers cannot be used."),
    "link": N_("The link must start with https:// or http://."),
    "share_link": N_("A task to share needs the link to share."),
    "closes": N_("The task must close after it opens."),
    "closes_before_start": N_("The task must close after it starts."),
}
ACTIONS = {"pause": "paused", "resume": "open", "close": "closed"}


async def tasks_page(request: web.Request, problem: str = "", done: str = "") -> web.Response:
    """Every task in scope with its progress, then the form for a new one."""
    who = signed(request)
    board = await services_of(request).dashboard.task_board(who.actor)
    cards = []
    for item in board.progress:
        task = item.task
        if task.status == "closed":
            continue
        wanted = task.quota or 0
        reached = item.done if item.done < wanted else wanted
        bar = f'<progress max="{wanted}" value="{reached}"></progress>' if wanted else ""
        counts = ngettext("{done} done", "{done} done", item.done).format(done=item.done)
        if wanted:
            counts += " / " + str(wanted)
        counts += " · " + _("in progress: {accepted} · skipped: {skipped}").format(
            accepted=item.accepted, skipped=item.skipped
        )
        toggle = (
            post_button(who, f"/tasks/{task.id}/resume", _("Resume"))
            if task.status == "paused"
            else post_button(who, f"/tasks/{task.id}/pause", _("Pause"))
        )
        cards.append(
            f'<article class="card" id="task-{task.id}"><h2>#{task.id} {e(task.title)}</h2>'
            f"<p>{e(_(KIND_LABELS.get(task.kind, task.kind)))} · "
            f"{e(_(STATUS_LABELS.get(task.status, task.status)))}</p>"
            f"{bar}<p>{e(counts)}</p>"
            f'<div class="actions">{toggle}'
            + post_button(who, f"/tasks/{task.id}/close", _("Close"), "danger")
            + "</div></article>"
        )
    published = request.query.get("published", "")
    if published.isdigit() and not problem:
        done = _("Task #{id} is published.").format(id=published)
    messages = (notice(problem, "error") if problem else "") + (notice(done, "ok") if done else "")
    teams = board.teams
    body = (
        messages
        + (
            f'<div class="cards">{"".join(cards)}</div>'
            if cards
            else notice(_("No open task in your teams."))
        )
        + "<h2>"
        + e(_("New task"))
        + "</h2>"
        + _form(who_csrf=csrf_field(who), teams=teams, admin=who.actor.is_admin, form=request)
    )
    return html(layout(who, _("Tasks"), body, "/tasks"), 400 if problem else 200)


def _form(who_csrf: str, teams: Sequence[tuple[int, str]], admin: bool, form: web.Request) -> str:
    team_options = [(str(i), n) for i, n in teams]
    return (
        f'<form method="post" action="/tasks" class="stack" id="new-task">{who_csrf}'
        + select("kind", _("Kind"), [(k, _(KIND_LABELS[k])) for k in KINDS], "", blank=False)
        + select("team", _("Team"), team_options, "", blank=admin)
        + "<label>"
        + e(_("Title"))
        + '<input name="title" required maxlength="200"></label>'
        + "<label>"
        + e(_("Instructions"))
        + '<textarea name="instructions" maxlength="3000"></textarea></label>'
        + "<label>"
        + e(_("Link (to share or to open)"))
        + '<input name="link" type="url" inputmode="url"></label>'
        + "<label>"
        + e(_("People wanted (empty: no limit)"))
        + '<input name="quota" type="number" min="1" inputmode="numeric"></label>'
        + "<label>"
        + e(_("Closes on"))
        + '<input name="closes" type="datetime-local"></label>'
        + '<button class="primary">'
        + e(_("Publish"))
        + "</button></form>"
    )


async def create(request: web.Request) -> web.Response:
    """Publish a task through the same service and checks as /newtask."""
    form = await check_csrf(request)
    who = signed(request)
    services = services_of(request)
    kind = form.get("kind", "")
    team = form.get("team", "")
    team_id = int(team) if team.isdigit() else None
    quota = form.get("quota", "")
    closes = None
    if form.get("closes"):
        try:
            closes = datetime.fromisoformat(form["closes"]).replace(
                tzinfo=services.settings.timezone
            )
        except ValueError:
            return await tasks_page(request, _("This date cannot be read."))
    draft = TaskDraft(
        kind=kind,
        title=form.get("title", ""),
        instructions=form.get("instructions", "").strip(),
        points=POINTS.get(kind, 1),
        quota=int(quota) if quota.isdigit() else None,
        closes_at=closes,
        link=form.get("link", "").strip() or None,
        team_id=team_id,
        targets={"team": (str(team_id),)} if team_id else {},
    )
    try:
        task = await services.tasks.create(who.actor, draft)
    except TaskError as problem:
        return await tasks_page(request, _(PROBLEMS.get(problem.code, PROBLEMS["numbers"])))
    except NotAllowed:
        return await tasks_page(request, _("Choose one of your teams."))
    return see_other(f"/tasks?published={task.id}#task-{task.id}")


async def control(request: web.Request) -> web.Response:
    """Pause, resume or close a task (the service checks it is in this organizer's teams)."""
    await check_csrf(request)
    who = signed(request)
    task_id = int(request.match_info["id"])
    status = ACTIONS[request.match_info["action"]]
    changed = await services_of(request).tasks.set_status(who.actor, task_id, status)
    if changed is None:
        return await tasks_page(request, _("This task cannot be changed (closed, or not yours)."))
    return see_other(f"/tasks#task-{task_id}")


def register(app: web.Application) -> None:
    app.router.add_get("/tasks", tasks_page)
    app.router.add_post("/tasks", create)
    app.router.add_post(r"/tasks/{id:\d+}/{action:pause|resume|close}", control)
