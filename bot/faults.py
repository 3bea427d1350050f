"""Named points where a test may have Relais kill itself (SIGKILL), as a power cut or an
out-of-memory kill would, to prove what survives. RELAIS_TEST_FAULT names the point; only
tests set it. Nowhere else does Relais read it."""

from __future__ import annotations

import os
import signal

_POINT = os.environ.get("RELAIS_TEST_FAULT", "")


def point(name: str) -> None:
    """Die here, at once and without cleaning up, if the tests asked for `name`."""
    if _POINT and name == _POINT:
        os.kill(os.getpid(), signal.SIGKILL)
