"""Named points where a test may have Relais kill itself (SIGKILL), as a power cut or an
out-of-memory kill would, to prove what survives (or a chat whose updates never end, to
prove others go on). RELAIS_TEST_FAULT names the point; only tests set it. Nowhere else does
Relais read it."""

from __future__ import annotations

import asyncio
import os
import signal

_POINT = os.environ.get("RELAIS_TEST_FAULT", "")
_STALLED = _POINT.removeprefix("stall-chat:") if _POINT.startswith("stall-chat:") else ""


def point(name: str) -> None:
    """Die here, at once and without cleaning up, if the tests asked for `name`."""
    if _POINT and name == _POINT:
        os.kill(os.getpid(), signal.SIGKILL)


async def stall(chat_id: str) -> None:
    """Never end here, as a handler stuck on a slow call would, if the tests asked for
    `stall-chat:<chat_id>`."""
    if _STALLED and chat_id == _STALLED:
        await asyncio.get_running_loop().create_future()
