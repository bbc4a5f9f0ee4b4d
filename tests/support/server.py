"""Real servers in subprocesses: the platform (`academy serve`) or any argv, each in its own process group.

Shared by the browser journeys (tests/e2e/conftest.py), the schema fuzzing (tests/test_api_schema.py) and
the HTTP benchmark (bench/http_bench.py). A plain module, not a pytest plugin: import what you need.

    server = Server(data_dir, extra_env={"ACADEMY_LOG_LEVEL": "WARNING"})
    server.prepare()  # academy migrate + academy demo
    server.start()  # academy serve, then wait for /readyz
    try:
        ...  # server.base_url
    finally:
        server.stop()  # SIGTERM, then the rest of the process group (Celery worker, beat), SIGKILL last
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0  # for the group leader after SIGTERM; the rest of the group gets 5 s more
# Settings that choose the database, the job broker and inline jobs. A started server never inherits them
# (the caller's shell or test run may point them at shared services); it takes them only from `extra_env`.
BACKEND_KEYS = ("ACADEMY_REDIS_URL", "ACADEMY_DATABASE_URL", "ACADEMY_JOBS_INLINE")


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def academy_cli() -> list[str]:
    """The `academy` entry point of this interpreter's environment (or the one on PATH)."""
    script = Path(sys.executable).with_name("academy")
    if script.exists():
        return [str(script)]
    found = shutil.which("academy")
    if found:
        return [found]
    return [sys.executable, "-c", "from academy.cli import main; main()"]


def sqlite_url(data_dir: Path) -> str:
    """The SQLite database the platform uses by default inside `data_dir`."""
    return f"sqlite+aiosqlite:///{data_dir / 'academy.sqlite'}"


def env_without_academy() -> dict[str, str]:
    """This process's environment without any ACADEMY_* variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ACADEMY_")}


def server_env(
    data_dir: Path,
    base_url: str,
    extra_env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a platform on `data_dir`: `base_env` (default: this process's), the data folder,
    base URL and development mode, then `extra_env`. The keys in BACKEND_KEYS come from `extra_env` only;
    without an explicit ACADEMY_DATABASE_URL the server uses its own SQLite file in `data_dir`."""
    extra = dict(extra_env or {})
    env = {
        **(os.environ if base_env is None else base_env),
        "ACADEMY_DATA_DIR": str(data_dir),
        "ACADEMY_BASE_URL": base_url,
        "ACADEMY_ENVIRONMENT": "development",
        **extra,
    }
    for key in BACKEND_KEYS:
        if key not in extra:
            env.pop(key, None)
    env.setdefault("ACADEMY_DATABASE_URL", sqlite_url(data_dir))
    return env


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Process:
    """A child in its own process group, stopped with SIGTERM, then whatever is left of the group.

    `launch()` starts it, `wait_ready(url)` waits for a 200 there, `start()` does both (and stops the child
    again if it never gets ready). `stop()` may be called any number of times.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path | None = None,
        name: str | None = None,
        ready_url: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.cwd = cwd
        self.name = name or Path(self.argv[0]).name
        self.ready_url = ready_url
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def launch(self) -> None:
        if self.proc is not None:
            raise RuntimeError(f"{self.name} is already running")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, url: str | None = None, timeout: float = READY_TIMEOUT) -> None:
        """Poll `url` (default: `ready_url`) until it answers 200; RuntimeError if the child exits first."""
        url = url or self.ready_url
        if url is None:
            raise ValueError(f"no readiness URL for {self.name}")
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                proc = self.proc
                if proc is None:
                    raise RuntimeError(f"{self.name} is not running")
                if proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {proc.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def start(self) -> None:
        """Launch, then wait for `ready_url` (if any); on failure everything started is stopped again."""
        self.launch()
        if self.ready_url is None:
            return
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        pgid = proc.pid  # start_new_session: the child leads its own process group
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=STOP_TIMEOUT)
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
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Server(Process):
    """The real platform (web + embedded Celery worker and beat) on a data folder of its own.

    Runs from `data_dir` by default, so no `.env` of the caller's working directory applies, and logs to
    `data_dir / "serve.log"` unless told otherwise. See `server_env` for the environment.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
        *,
        host: str = HOST,
        base_env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
        name: str = "academy serve",
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.host = host
        self.port = free_port(host) if port is None else port
        self.base_url = f"http://{host}:{self.port}"
        super().__init__(
            [*academy_cli(), "serve", "--host", host, "--port", str(self.port)],
            env=server_env(data_dir, self.base_url, extra_env, base_env),
            log_path=data_dir / "serve.log" if log_path is None else log_path,
            cwd=data_dir if cwd is None else cwd,
            name=name,
            ready_url=f"{self.base_url}/readyz",
        )

    def prepare(self) -> None:
        """`academy migrate` and `academy demo` on the data folder (demo accounts, password academy-demo)."""
        # Two cohorts of earlier students instead of six: every journey's data is there (students at
        # risk, homework to review, nudges), and the servers start in half the time.
        for command in (["migrate"], ["demo", "--cohorts", "2"]):
            subprocess.run(
                [*academy_cli(), *command],
                env=self.env,
                cwd=self.cwd,
                check=True,
                capture_output=True,
                timeout=600,
            )
