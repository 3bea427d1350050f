"""/tasks: an organizer follows their tasks' progress and pauses, resumes, closes or edits them.

Buttons (bot/payloads.py): TaskAdmin (pause, resume, close, closeok, edit, call list) and
TaskEditField to pick the field to edit; every tap re-checks the scope.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.answers import parse_count
from bot.domain.errors import Gone, ImportRejected, TaskError
from bot.domain.tasks import Progress, Task
from bot.i18n import N_, _, format_datetime, ngettext, people, worded
from bot.messaging import Answer, Choice, Outbound, choices
from bot.payloads import EditableField, TaskAdmin, TaskEditField
from bot.router import Reply, Request, Router, expired
from bot.services.calls import file_refusal
from bot.services.people import ORGANIZER
from bot.services.tasks import CONTROLS, parse_moment
from bot.text import clean, esc
from bot.vocabulary import task_kind_word
from bot.when_text import moment_refusal

log = logging.getLogger(__name__)

STATUS_LABELS = {
    "open": N_("open"),
    "paused": N_("paused"),
    "closed": N_("closed"),
    "draft": N_("draft"),
}
EDITABLE: dict[EditableField, str] = {
    "title": N_("Title"),
    "quota": N_("Quota"),
    "closes_at": N_("Closing time"),
    "priority": N_("Priority"),
}
EDIT_ANSWERS: dict[EditableField, Answer] = {
    "title": "text",
    "quota": "number",
    "closes_at": "date",
    "priority": "number",
}
EDIT_PROMPTS = {
    "title": N_("New title?"),
    "quota": N_("New quota? A number, or - for no limit."),
    "closes_at": N_("New closing time? For example 12/12 20:00."),
    "priority": N_("New priority? A whole number; higher comes first."),
}


def progress_line(item: Progress) -> str:
    task = item.task
    quota = str(task.quota) if task.quota else "∞"
    return _(
        "<b>#{id} {title}</b> · {kind} · {status}\n"
        "Done {done} / {quota} · accepted {accepted} · skipped {skipped}"
    ).format(
        id=task.id,
        title=esc(task.title),
        kind=task_kind_word(task.kind),
        status=_(STATUS_LABELS[task.status]),
        done=item.done,
        quota=quota,
        accepted=item.accepted,
        skipped=item.skipped,
    )


def task_buttons(task: Task) -> tuple[tuple[Choice, ...], ...]:
    if task.status == "closed":
        return ()
    toggle = (
        TaskAdmin("resume", task.id).button(_("Resume"))
        if task.status == "paused"
        else TaskAdmin("pause", task.id).button(_("Pause"))
    )
    rows = [
        [
            toggle,
            TaskAdmin("edit", task.id).button(_("Edit")),
            TaskAdmin("close", task.id).button(_("Close")),
        ]
    ]
    if task.kind == "call":
        rows.append([TaskAdmin("list", task.id).button("📋 " + _("Add people to call"))])
    return choices(*rows)


PASTE_PROBLEMS = {
    "name": N_("line {line}: the name is missing"),
    "phone": N_("line {line}: “{value}” is not a valid phone number"),
    "duplicate": N_("line {line}: {value} is already on an earlier line"),
    "size": N_("too many lines at once"),
    "empty": N_("no lines found"),
    "encoding": N_("unreadable text"),
    "header": N_("no lines found"),
    "task": N_("this call task is closed"),
    "csv": N_("line {line}: a cell is over 128 KB, or the line is not valid CSV"),
}


# A file has a header line and may be big; these problems read differently from a paste.
FILE_PROBLEMS = {
    **PASTE_PROBLEMS,
    "header": N_("line 1 must name the columns: name, phone (notes optional)"),
    "size": N_("the file is too large (1 MB or 20,000 people at most)"),
    "encoding": N_("the file is not UTF-8 text: save it as “CSV UTF-8”"),
}


async def ask_call_list(request: Request, task: Task) -> Outbound:
    """Start waiting for pasted lines of people to call for this task."""
    await request.begin("calllist", "paste", {"task": task.id})
    return Outbound(
        _(
            "Paste the people to call for “{title}”, one per line: name, phone, notes "
            "(notes optional). Send several messages if the list is long, or send a CSV file "
            "whose first line names the columns name, phone, notes. Nothing is added from a "
            "message or file with a mistake: I tell you which line to fix."
        ).format(title=esc(task.title)),
        choices=choices(TaskAdmin("listdone", task.id).button(_("Finished"))),
    )


async def on_call_list(request: Request) -> Reply:
    """Lines pasted or a CSV file sent for a call list: all added, or none and each bad line
    named."""
    assert request.conversation is not None
    task_id = int(request.conversation.data["task"])
    is_file = request.inbound.file is not None
    problems = FILE_PROBLEMS if is_file else PASTE_PROBLEMS
    content = request.text.encode()
    if is_file:
        downloaded = await _call_list_file(request, task_id)
        if isinstance(downloaded, Outbound):
            return downloaded
        content = downloaded
    try:
        added, summary = await request.services.calls.add_list(
            request.actor, task_id, content, header=is_file
        )
    except Gone:
        await request.finish()
        return expired()
    except ImportRejected as rejected:
        lines = [
            _(problems.get(p.problem, problems["empty"])).format(line=p.line, value=esc(p.value))
            for p in rejected.problems[:20]
        ]
        return Outbound(
            _("Nothing was added. Please fix and send again:") + "\n" + "\n".join(lines),
            choices=choices(TaskAdmin("listdone", task_id).button(_("Finished"))),
        )
    return Outbound(
        worded(
            ngettext(
                "Added {n} person. Send more lines, or tap Finished.",
                "Added {n} people. Send more lines, or tap Finished.",
                added,
            ),
            ngettext(
                "Added {n} person. Send more lines, or answer Finished.",
                "Added {n} people. Send more lines, or answer Finished.",
                added,
            ),
        ).format(n=added)
        + "\n"
        + call_line(summary),
        choices=choices(TaskAdmin("listdone", task_id).button(_("Finished"))),
    )


async def _call_list_file(request: Request, task_id: int) -> bytes | Outbound:
    """The bytes of a call list sent as a file, or the answer refusing it (unread if the
    messenger already says it is too big or not CSV)."""
    file = request.inbound.file
    assert file is not None
    finished = choices(TaskAdmin("listdone", task_id).button(_("Finished")))
    refusal = file_refusal(file)
    if refusal == "type":
        return Outbound(
            _(
                "Nothing was added: I can only read a call list as a CSV or text file "
                "(.csv, .txt). Export your spreadsheet as CSV and send it again."
            ),
            choices=finished,
        )
    if refusal == "size":
        return Outbound(
            _("Nothing was added: the file is over 1 MB. Split the list and send the parts."),
            choices=finished,
        )
    download = request.services.messengers.downloader(request.inbound.channel)
    if download is None:
        return Outbound(
            _("I cannot read files on this messenger yet. Please paste the lines instead."),
            choices=finished,
        )
    try:
        return await download(file)
    except Exception as exc:  # the messenger's delivery errors, whatever their kind
        # (a handler never sees transports): the organizer is asked to send it again.
        log.warning("call list file could not be downloaded: %s", exc)
        return Outbound(
            _("Nothing was added: I could not fetch the file. Please send it again."),
            choices=finished,
        )


async def cmd_tasks(request: Request) -> Reply:
    """Lists the organizer's tasks with progress, each with Pause/Resume, Edit, Close."""
    items = await request.services.tasks.overview(request.actor, limit=20)
    if not items:
        return Outbound(_("No tasks yet. Create one with /newtask."))
    replies = [Outbound(_("Your tasks (newest first, closed ones last):"))]
    for item in items:
        text = progress_line(item)
        if item.calls is not None:
            text += "\n" + call_line(item.calls)
        replies.append(Outbound(text, choices=task_buttons(item.task)))
    return replies


def call_line(summary: Mapping[str, int]) -> str:
    """How far a phone bank got: people on the list, left to call, and the results."""
    total = sum(n for k, n in summary.items() if not k.startswith("result_"))
    left = summary.get("ready", 0) + summary.get("held", 0) + summary.get("callback", 0)
    return _(
        "Call list: {total}, to call {left} · supporters {supporter} · undecided "
        "{undecided} · opposed {opposed} · no answer {no_answer}"
    ).format(
        total=people(total),
        left=left,
        supporter=summary.get("result_supporter", 0),
        undecided=summary.get("result_undecided", 0),
        opposed=summary.get("result_opposed", 0),
        no_answer=summary.get("result_no_answer", 0),
    )


async def on_button(request: Request) -> Reply:
    """Pause, resume, close (after a confirmation) or start editing a task in scope."""
    tap = request.payload
    assert isinstance(tap, TaskAdmin | TaskEditField)
    if not request.actor.is_organizer:
        return expired()
    action = tap.action
    try:
        controlled = await request.services.tasks.control(request.actor, tap.task, action)
    except Gone:
        return expired()
    task = controlled.task
    if action == "close":
        return Outbound(
            _("Close “{title}”? Volunteers can no longer take it; accepted ones expire.").format(
                title=esc(task.title)
            ),
            choices=choices(
                [
                    TaskAdmin("closeok", task.id).button(_("Yes, close it")),
                    TaskAdmin("keep", task.id).button(_("No")),
                ]
            ),
            edit=True,
        )
    if action == "keep":
        return Outbound(_("Kept open."), edit=True)
    if action == "edit":
        fields = [TaskEditField("ef", task.id, f).button(_(label)) for f, label in EDITABLE.items()]
        return Outbound(_("What do you want to change?"), choices=choices(fields[:2], fields[2:]))
    if action == "list" and task.kind == "call":
        return await ask_call_list(request, task)
    if action == "listdone" and task.kind == "call":
        if request.conversation is not None and request.conversation.flow == "calllist":
            await request.finish()
        return Outbound(_("Call list saved.") + "\n" + call_line(controlled.calls or {}), edit=True)
    if isinstance(tap, TaskEditField):
        await request.begin("taskedit", tap.field, {"task": task.id})
        return Outbound(_(EDIT_PROMPTS[tap.field]), answer=EDIT_ANSWERS[tap.field])
    status = CONTROLS.get(action)
    if status is None:
        return expired()
    said = {
        "paused": _("Paused: nobody is offered this task until you resume it."),
        "open": _("Resumed: the task is back in the queue."),
        "closed": _("Closed."),
    }[status]
    return Outbound(
        said + "\n\n" + progress_line(Progress(task, 0, 0, 0)).split("\n")[0],
        choices=task_buttons(task),  # as the button left it
        edit=True,
    )


async def on_edit(request: Request) -> Reply:
    """The new value for the field being edited."""
    assert request.conversation is not None
    field, task_id = request.conversation.step, int(request.conversation.data["task"])
    text = clean(request.text)
    zone = request.services.settings.timezone
    value: object
    if field == "title":
        if not text or len(text) > 200:
            return Outbound(_("Please send a title of 1 to 200 characters."))
        value = text
    elif field == "quota":
        quota = parse_count(text)
        if text != "-" and (quota is None or not 0 < quota <= 1_000_000):
            return Outbound(_("Please send a number (or - to skip)."), answer="number")
        value = quota
    elif field == "priority":
        size = parse_count(text.removeprefix("-"))
        if size is None or size > 1000:
            return Outbound(
                _("Please send a whole number between -1000 and 1000."), answer="number"
            )
        value = -size if text.startswith("-") else size
    else:
        moment = parse_moment(text, zone, request.now)
        if refusal := moment_refusal(text, moment, request.now, zone):
            return Outbound(refusal)
        if moment is None:
            return Outbound(_("I did not understand that date. Write it like 05/12 18:30."))
        if moment <= request.now:
            return Outbound(_("That moment has already passed. Please send a later one."))
        value = moment
    try:
        updated = await request.services.tasks.edit(request.actor, task_id, **{field: value})
    except TaskError as problem:
        starts_at = problem.data.get("starts_at")
        start = format_datetime(starts_at, zone) if starts_at else ""
        return Outbound(
            _("The task must close after it starts ({start}). Please send a later moment.").format(
                start=start
            )
        )
    await request.finish()
    if updated is None:
        return expired()
    return Outbound(_("Saved.") + "\n\n" + progress_line(Progress(updated, 0, 0, 0)).split("\n")[0])


def register(router: Router) -> None:
    router.command(
        "tasks", cmd_tasks, rank=ORGANIZER, description=N_("Follow and manage your tasks")
    )
    router.choice([TaskAdmin, TaskEditField], on_button)
    router.flow("taskedit", on_edit)
    router.flow("calllist", on_call_list, files=True)
