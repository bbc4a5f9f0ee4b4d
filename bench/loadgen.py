"""The closed-loop HTTP load generator shared by the benchmarks (http_bench.py, learning_bench.py).

Targets, the `hammer` loop over N keep-alive connections, percentiles, sign-in helpers, the platform
server as the benchmarks run it, the common command-line options and the plain-text table. The
benchmarks are run as scripts (`python bench/http_bench.py`), so their own folder is on sys.path and
they import this as `loadgen`, after putting the repo root on sys.path for `tests.support`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import Server, env_without_academy

REQUEST_TIMEOUT = 10.0
MAX_REQUESTS_PER_TARGET = 2_000_000  # a hard cap on top of the time limit


@dataclass
class Target:
    """What one measurement requests: `paths` on `base_url`, taken in turn, with these credentials."""

    name: str
    base_url: str
    paths: list[str]
    headers: dict[str, str] | None = None
    cookies: httpx.Cookies | None = None


@dataclass
class Result:
    target: str
    paths: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    vs_bare: float | None = None
    error_sample: str = ""

    def as_json(self, omit: tuple[str, ...] = ()) -> dict[str, Any]:
        """The fields as JSON values (NaN percentiles, from no successful request, become null)."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
            if k not in omit
        }


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


async def hammer(
    target: Target, seconds: float, concurrency: int, warmup: float, clients: int | None = None
) -> Result:
    """`concurrency` workers, each looping request-after-response on a keep-alive connection, over the
    target's paths in turn. An error is a transport error or any status other than 200.

    The connections are spread over `clients` AsyncClients (pools; default one per connection). One pool
    holding all 50 connections is what httpx makes easy, but its pool bookkeeping costs grow with the
    connections in it (encode/httpx#3215): here one 50-connection pool caps even the bare app at a few
    hundred req/s, so by default every worker gets its own single-connection client. `clients=1` measures
    the shared pool.
    """
    clients = max(1, min(clients or concurrency, concurrency))
    per_client = math.ceil(concurrency / clients)
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    async with contextlib.AsyncExitStack() as stack:
        pool = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=target.base_url,
                    headers=target.headers,
                    cookies=target.cookies,
                    limits=limits,
                    timeout=REQUEST_TIMEOUT,
                    follow_redirects=False,
                )
            )
            for _ in range(clients)
        ]
        latencies: list[float] = []
        errors = 0
        error_sample = ""
        count = 0
        sent = 0
        measuring = False

        async def worker(index: int, deadline: float) -> None:
            nonlocal errors, error_sample, count, sent
            client = pool[index % clients]
            while time.perf_counter() < deadline and count < MAX_REQUESTS_PER_TARGET:
                path = target.paths[sent % len(target.paths)]
                sent += 1
                start = time.perf_counter()
                try:
                    response = await client.get(path)
                    await response.aread()
                    ok = response.status_code == 200
                    problem = "" if ok else f"HTTP {response.status_code} on {path}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - start
                if measuring:
                    count += 1
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors += 1
                        error_sample = error_sample or problem

        # Warm-up: open the connections and let caches fill; not counted.
        if warmup > 0:
            until = time.perf_counter() + warmup
            await asyncio.gather(*(worker(i, until) for i in range(concurrency)))
        measuring = True
        began = time.perf_counter()
        await asyncio.gather(*(worker(i, began + seconds) for i in range(concurrency)))
        elapsed = time.perf_counter() - began

    latencies.sort()
    return Result(
        target=target.name,
        paths=len(target.paths),
        requests=count,
        errors=errors,
        seconds=round(elapsed, 3),
        rps=count / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        error_sample=error_sample,
    )


def platform_server(workdir: Path) -> Server:
    """`academy serve` on `workdir/data` (not started yet), without the caller's ACADEMY_* settings, with
    rate limiting off (no 429s) and WARNING logs (no per-request log lines to pay for)."""
    return Server(
        workdir / "data",
        extra_env={"ACADEMY_RATE_LIMIT_ENABLED": "false", "ACADEMY_LOG_LEVEL": "WARNING"},
        base_env=env_without_academy(),
        cwd=workdir,
        log_path=workdir / "academy.log",
    )


def api_token(base_url: str, email: str, password: str) -> str:
    """A bearer token from the JSON login."""
    response = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def session_cookies(base_url: str, email: str, password: str, check_path: str | None = None) -> httpx.Cookies:
    """Sign in through the page form (double-submit CSRF cookie), like a browser; then, if given,
    require a 200 on `check_path` with the new session."""
    with httpx.Client(base_url=base_url, timeout=10, follow_redirects=False) as client:
        client.get("/login").raise_for_status()
        csrf = client.cookies.get("academy_csrf")
        if not csrf:
            raise RuntimeError("GET /login set no academy_csrf cookie")
        response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
        if response.status_code != 303:
            raise RuntimeError(f"form login answered {response.status_code}, expected 303")
        if check_path is not None:
            check = client.get(check_path)
            if check.status_code != 200:
                raise RuntimeError(f"GET {check_path} after login answered {check.status_code}")
        return httpx.Cookies(client.cookies)


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """--seconds, --concurrency and --warmup; check them with `check_load_arguments`."""
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="measured seconds per target (default 10)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="unmeasured seconds per target first (default 1)"
    )


def check_load_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 0 < args.seconds <= 600:
        parser.error("--seconds must be in (0, 600]")
    if not 1 <= args.concurrency <= 1000:
        parser.error("--concurrency must be in [1, 1000]")
    if not 0 <= args.warmup <= 60:
        parser.error("--warmup must be in [0, 60]")


def use_uvloop() -> None:
    """uvloop for the load generator if installed: its own overhead matters on 2 cores."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def print_errors(results: list[Result]) -> None:
    """The first error of each target that had one."""
    for r in results:
        if r.error_sample:
            print(f"  {r.target}: first error: {r.error_sample}")
