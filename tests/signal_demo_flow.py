"""A tiny test-only flow, registered beside the real ones, to drive what Signal must render:
a task offer with choices, a location request, a phone request, a picture, a free answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from bot.messaging import Attachment, Choice, Outbound, choices
from bot.payloads import Payload
from bot.router import Reply, Request, Router, expired


@dataclass(frozen=True)
class DemoTap(Payload):
    prefix: ClassVar[str] = "demo"
    action: Literal["accept", "skip", "done", "drop"]
    task: int


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def offer(task_id: int) -> Outbound:
    """A task offer, as the tasks flow would send it."""
    return Outbound(
        f"<b>Task {task_id}</b>: share the post",
        choices=choices(
            [Choice("✅ Accept", f"demo:accept:{task_id}"), Choice("Skip", f"demo:skip:{task_id}")],
            Choice("Read the post", url="https://example.org/post"),
        ),
    )


async def cmd_offer(request: Request) -> Reply:
    return offer(7)


async def on_demo(request: Request) -> Reply:
    tap = request.tap(DemoTap)
    action, task = tap.action, tap.task
    if action == "accept":
        return Outbound(
            f"Accepted task {task}. Tell me when it is done.",
            choices=choices(Choice("Done", f"demo:done:{task}"), Choice("Give up", "demo:drop:1")),
        )
    if action == "done":
        return Outbound(f"Well done, task {task} is complete!")
    if action == "skip":
        return Outbound(f"Skipped task {task}.")
    return expired()


async def cmd_where(request: Request) -> Reply:
    await request.begin("where", "place")
    return Outbound("Where are you?", request="location")


async def flow_where(request: Request) -> Reply:
    await request.finish()
    if request.inbound.location:
        latitude, longitude = request.inbound.location
        return Outbound(f"Location {latitude:.2f}, {longitude:.2f}")
    return Outbound(f"Place {request.text}")


async def cmd_phone(request: Request) -> Reply:
    await request.begin("phone", "number")
    return Outbound("Your number?", request="contact")


async def flow_phone(request: Request) -> Reply:
    await request.finish()
    if request.inbound.contact_phone:
        return Outbound(f"Phone {request.inbound.contact_phone}")
    return Outbound(f"Text {request.text}")


async def cmd_chart(request: Request) -> Reply:
    return Outbound("Your <b>chart</b>", attachment=Attachment("chart.png", PNG, "photo"))


async def cmd_count(request: Request) -> Reply:
    await request.begin("count", "doors")
    return Outbound("How many doors did you knock on?")


async def flow_count(request: Request) -> Reply:
    await request.finish()
    return Outbound(f"Counted {request.text}")


def register(router: Router) -> None:
    router.command("offer", cmd_offer, menu=False)
    router.command("where", cmd_where, menu=False)
    router.command("phone", cmd_phone, menu=False)
    router.command("chart", cmd_chart, menu=False)
    router.command("count", cmd_count, menu=False)
    router.choice(DemoTap, on_demo)
    router.flow("where", flow_where)
    router.flow("phone", flow_phone)
    router.flow("count", flow_count)
