"""Browser journeys against the real server (migrate + demo + serve), driven by Debian's chromium.

Run with `pytest -q -m e2e -p no:cacheprovider` (the repo's addopts deselect e2e by default).
Self-contained: nothing here depends on tests/fixtures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_PASSWORD = "academy-demo"
READY_TIMEOUT = 60.0


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def academy_cli() -> list[str]:
    """The `academy` entry point of this interpreter's environment."""
    script = Path(sys.executable).with_name("academy")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from academy.cli import main; main()"]


class Server:
    """The real platform (web + embedded Celery worker and beat) in its own process group."""

    def __init__(self, data_dir: Path, port: int, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "ACADEMY_DATA_DIR": str(data_dir),
            "ACADEMY_BASE_URL": self.base_url,
            "ACADEMY_ENVIRONMENT": "development",
            **(extra_env or {}),
        }
        for key in ("ACADEMY_REDIS_URL", "ACADEMY_DATABASE_URL", "ACADEMY_JOBS_INLINE"):
            if extra_env is None or key not in extra_env:
                self.env.pop(key, None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "serve.log"
        self._log: Any = None

    def prepare(self) -> None:
        for command in ("migrate", "demo"):
            subprocess.run(
                [*academy_cli(), command], env=self.env, check=True, capture_output=True, timeout=120
            )

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*academy_cli(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/readyz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready within {READY_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        pgid = proc.pid  # start_new_session: the server leads its own process group
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        # Whatever is left in the group (worker pool, beat) goes too, politely first.
        for sig, pause in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + pause
            while time.monotonic() < deadline and _group_alive(pgid):
                time.sleep(0.1)
            if not _group_alive(pgid):
                break
        if proc.poll() is None:
            proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # A fresh data folder under pytest's tmp dir (kept for the last few runs: serve.log helps debugging).
    server = Server(tmp_path_factory.mktemp("academy-data"), free_port())
    server.prepare()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server_url(live_server: Server) -> str:
    return live_server.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }
