"""HTTP throughput and latency of the real platform next to a bare ASGI app.

Starts, on loopback only and in a fresh temporary data folder:
  * the platform the way `make demo` does (`academy migrate`, `academy demo`, `academy serve`, which also
    runs the embedded Celery worker and beat), with rate limiting off and WARNING logs;
  * a bare raw-ASGI "hello" app under uvicorn, as the ceiling this machine and load generator allow.

Then drives each target with N concurrent keep-alive connections (httpx.AsyncClient) for a fixed time and
prints requests, errors, req/s, p50/p95/p99 latency and each target's req/s relative to the bare app.
Everything it starts is stopped at the end (process groups), also on errors and Ctrl-C.

    python bench/http_bench.py [--seconds 10] [--concurrency 50] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

# Run as `python bench/http_bench.py`: the repo root is not on sys.path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import HOST, Process, Server, env_without_academy, free_port

STUDENT_EMAIL = "student@demo.academy.school"
DEMO_PASSWORD = "academy-demo"
REQUEST_TIMEOUT = 10.0
MAX_REQUESTS_PER_TARGET = 2_000_000  # a hard cap on top of the time limit

HELLO_APP = '''\
"""A minimal raw ASGI app: one JSON body for every request. The ceiling for the comparison."""

BODY = b'{"hello":"world"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
'''


@contextlib.contextmanager
def running_servers(workdir: Path) -> Iterator[tuple[str, str]]:
    """(platform base URL, hello base URL), both stopped on exit."""
    academy = Server(
        workdir / "data",
        extra_env={"ACADEMY_RATE_LIMIT_ENABLED": "false", "ACADEMY_LOG_LEVEL": "WARNING"},
        base_env=env_without_academy(),
        cwd=workdir,
        log_path=workdir / "academy.log",
    )
    academy.prepare()

    (workdir / "bench_hello.py").write_text(HELLO_APP)
    hello_port = free_port()
    hello_url = f"http://{HOST}:{hello_port}"
    hello = Process(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_hello:app",
            "--app-dir",
            str(workdir),
            "--host",
            HOST,
            "--port",
            str(hello_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env_without_academy(),
        cwd=workdir,
        log_path=workdir / "hello.log",
        name="hello app",
        ready_url=f"{hello_url}/",
    )
    started: list[Process] = []
    try:
        for process in (academy, hello):
            process.launch()
            started.append(process)
        for process in started:
            process.wait_ready()
        yield academy.base_url, hello_url
    finally:
        for process in reversed(started):
            process.stop()


@dataclass
class Target:
    name: str
    base_url: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: httpx.Cookies | None = None


@dataclass
class Result:
    target: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    vs_bare: float | None = None
    error_sample: str = ""


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


async def hammer(target: Target, seconds: float, concurrency: int, warmup: float, clients: int) -> Result:
    """`concurrency` workers, each looping request-after-response on a keep-alive connection.

    The connections are spread over `clients` AsyncClients (pools). One pool holding all 50 connections is
    what httpx makes easy, but its pool bookkeeping costs grow with the connections in it
    (encode/httpx#3215): here one 50-connection pool caps even the bare app at a few hundred req/s, so by
    default every worker gets its own single-connection client. `--clients 1` measures the shared pool.
    """
    clients = max(1, min(clients, concurrency))
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
        measuring = False

        async def one(client: httpx.AsyncClient) -> None:
            nonlocal errors, error_sample, count
            start = time.perf_counter()
            try:
                response = await client.get(target.path)
                await response.aread()
                ok = response.status_code == 200
                problem = "" if ok else f"HTTP {response.status_code}"
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

        async def worker(index: int, deadline: float) -> None:
            client = pool[index % clients]
            while time.perf_counter() < deadline and count < MAX_REQUESTS_PER_TARGET:
                await one(client)

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
        requests=count,
        errors=errors,
        seconds=round(elapsed, 3),
        rps=count / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        error_sample=error_sample,
    )


def api_token(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": STUDENT_EMAIL, "password": DEMO_PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def session_cookies(base_url: str) -> httpx.Cookies:
    """Sign in through the page form (double-submit CSRF cookie), like a browser."""
    with httpx.Client(base_url=base_url, timeout=10, follow_redirects=False) as client:
        client.get("/login").raise_for_status()
        csrf = client.cookies.get("academy_csrf")
        if not csrf:
            raise RuntimeError("GET /login set no academy_csrf cookie")
        response = client.post(
            "/login", data={"email": STUDENT_EMAIL, "password": DEMO_PASSWORD, "csrf_token": csrf}
        )
        if response.status_code != 303:
            raise RuntimeError(f"form login answered {response.status_code}, expected 303")
        check = client.get("/dashboard")
        if check.status_code != 200:
            raise RuntimeError(f"GET /dashboard after login answered {check.status_code}")
        return httpx.Cookies(client.cookies)


def print_table(results: list[Result], seconds: float, concurrency: int, clients: int) -> None:
    headers = ["target", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "vs bare"]
    rows = [
        [
            r.target,
            f"{r.requests}",
            f"{r.errors}",
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.p99_ms:.1f}",
            "-" if r.vs_bare is None else f"{r.vs_bare:.2f}x",
        ]
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(
        f"\n{concurrency} concurrent keep-alive connections over {clients} httpx client(s), "
        f"{seconds:g} s per target after warm-up, loopback; the load generator shares the CPU cores\n"
    )
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    for r in results:
        if r.error_sample:
            print(f"  {r.target}: first error: {r.error_sample}")
    print()


async def run(
    seconds: float, concurrency: int, warmup: float, clients: int, academy_url: str, hello_url: str
) -> list[Result]:
    token = api_token(academy_url)
    cookies = session_cookies(academy_url)
    targets = [
        Target("bare ASGI hello", hello_url, "/"),
        Target("GET /healthz", academy_url, "/healthz"),
        Target(
            "GET /api/v1/auth/me (bearer)",
            academy_url,
            "/api/v1/auth/me",
            {"Authorization": f"Bearer {token}"},
        ),
        Target("GET /dashboard (cookie)", academy_url, "/dashboard", cookies=cookies),
    ]
    results = []
    for target in targets:
        print(f"  {target.name} ...", file=sys.stderr, flush=True)
        results.append(await hammer(target, seconds, concurrency, warmup, clients))
    bare = results[0].rps
    for result in results:
        result.vs_bare = result.rps / bare if bare else None
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="measured seconds per target (default 10)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="unmeasured seconds per target first (default 1)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=0,
        help="httpx.AsyncClient pools the connections are spread over (default: one per connection; "
        "1 = a single shared pool, which is much slower on the client side)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    if not 0 < args.seconds <= 600:
        parser.error("--seconds must be in (0, 600]")
    if not 1 <= args.concurrency <= 1000:
        parser.error("--concurrency must be in [1, 1000]")
    if not 0 <= args.warmup <= 60:
        parser.error("--warmup must be in [0, 60]")
    if not 0 <= args.clients <= args.concurrency:
        parser.error("--clients must be in [0, --concurrency]")
    clients = args.clients or args.concurrency

    with contextlib.suppress(ImportError):
        import uvloop  # the load generator's own overhead matters on 2 cores

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    # SIGTERM behaves like Ctrl-C so the servers are still stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="academy-bench-") as tmp:
        print("starting the platform and the bare app ...", file=sys.stderr, flush=True)
        with running_servers(Path(tmp)) as (academy_url, hello_url):
            results = asyncio.run(
                run(args.seconds, args.concurrency, args.warmup, clients, academy_url, hello_url)
            )

    if args.json:
        payload = {
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "clients": clients,
            "cpus": os.cpu_count(),
            "results": [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()}
                for r in results
            ],
        }
        print(json.dumps(payload, indent=2))
    else:
        print_table(results, args.seconds, args.concurrency, clients)
    return 0


if __name__ == "__main__":
    sys.exit(main())
