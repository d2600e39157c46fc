"""What the benchmarks share to drive the real app: a `streamlit run` server on a loopback port that
is always terminated, headless Chromium launched the same way every time, a page's completion, and
a process's resident memory from /proc.

Used by bench/bench_scale.py (the app's peak memory with every page opened once), bench/load.py
(the protocol-level load: its server), bench/load_browser.py (the browser check) and the browser
tests (tests/conftest.py: the server and Chromium).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
RUN_DONE = "[data-testid=stApp][data-test-script-state=notRunning]"
ERROR_SELECTOR = "[data-testid=stException]"


def pages() -> list[tuple[str, str]]:
    """(url_path, title) of every page, in the navigation's order (from analytics.core.labels)."""
    from analytics.core import labels

    return [(p.url_path, p.title) for p in labels.PAGES]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak resident set since the process started) in KiB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(rest.split()[0])
    except FileNotFoundError:
        pass
    return out


class ServerStartError(RuntimeError):
    """The server exited or did not answer its health check in time; ``log`` is all it printed."""

    def __init__(self, log: str):
        super().__init__("streamlit did not start:\n" + log[-3000:])
        self.log = log


class AppServer:
    """The real app: `streamlit run app.py` on 127.0.0.1 with COCKPIT_DB=db, its output in log_path.

    ``start()`` returns once ``/_stcore/health`` answers (or stops the server and raises
    ServerStartError); ``url`` is the base URL, ``proc`` the process. The server runs in its own
    process group, which ``stop()`` terminates (then kills). As a context manager it is started on
    entry and stopped however the block ends. One implementation for bench/ (``serve``) and the
    browser tests (the ``app_server`` fixture in tests/conftest.py)."""

    def __init__(self, db: str | os.PathLike, log_path: str | os.PathLike, port: int | None = None,
                 start_timeout: float = 120.0, env: dict | None = None, script: str | os.PathLike = "app.py"):
        self.db, self.log_path, self.start_timeout = db, Path(log_path), start_timeout
        self.script = str(script)  # another script only in tests of the harness itself
        self.port = port or free_port()
        self.env = dict(env or {})
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "AppServer":
        full_env = dict(os.environ, COCKPIT_DB=str(self.db), PYTHONUNBUFFERED="1", **self.env)
        with open(self.log_path, "w", encoding="utf-8") as log:  # the child keeps its own handle
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", self.script, "--server.headless", "true",
                 "--server.port", str(self.port), "--server.address", "127.0.0.1",
                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(self.log_text())
            time.sleep(0.3)

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is not None:
            stop(self.proc, grace)

    def log_text(self) -> str:
        """Everything the server printed so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def serve(db: str | os.PathLike, log_path: str | os.PathLike, port: int | None = None,
          start_timeout: float = 120.0, env: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """An AppServer for a `with` block; yields (base URL, process)."""
    with AppServer(db, log_path, port=port, start_timeout=start_timeout, env=env) as server:
        yield server.url, server.proc


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate a process started with start_new_session=True, and its group."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def launch(playwright):
    """Headless Chromium (Debian's), with the flags that keep it quiet and small."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def niced_chromium(niceness: int) -> str:
    """A wrapper that starts Chromium at a lower CPU priority. In real use the twenty browsers run on
    twenty computers; here they share the server's two cores, and niced they take what the server
    (and the import) leave instead of competing with them."""
    import tempfile

    path = Path(tempfile.gettempdir()) / f"cockpit-chromium-nice{niceness}.sh"
    path.write_text(f'#!/bin/sh\nexec nice -n {int(niceness)} "{CHROMIUM}" "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return str(path)


async def launch_async(playwright, niceness: int = 0):
    """``launch`` for playwright's async API (bench/load_browser.py); ``niceness`` > 0 lowers the browser's
    CPU priority (``niced_chromium``)."""
    exe = niced_chromium(niceness) if niceness > 0 else CHROMIUM
    return await playwright.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)


# A page is complete when its script has run to the end (run state notRunning), its title is shown
# and no element is left stale from the run before.
DONE_JS = """([sel, title]) => {
    if (!document.querySelector(sel)) return false;
    const h1 = [...document.querySelectorAll('h1')].map(e => e.innerText.trim());
    if (!h1.some(t => t.startsWith(title))) return false;
    return document.querySelectorAll('[data-stale=true]').length === 0;
}"""


def wait_done(page, title: str, timeout_ms: float) -> None:
    page.wait_for_function(DONE_JS, arg=[RUN_DONE, title], timeout=timeout_ms, polling=50)


def errors_on(page) -> list[str]:
    """Texts of the exceptions Streamlit shows on the page (stException elements)."""
    loc = page.locator(ERROR_SELECTOR)
    return [loc.nth(i).inner_text()[:300] for i in range(loc.count())]
