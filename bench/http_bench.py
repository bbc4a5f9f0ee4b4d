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
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Run as `python bench/http_bench.py`: bench/ is on sys.path (for loadgen), the repo root
# (for tests.support) is not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadgen import (
    Result,
    Target,
    add_load_arguments,
    api_token,
    check_load_arguments,
    hammer,
    platform_server,
    print_errors,
    session_cookies,
    table,
    use_uvloop,
)

from tests.support.server import HOST, Process, env_without_academy, free_port

STUDENT_EMAIL = "student@demo.academy.school"
DEMO_PASSWORD = "academy-demo"

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
    academy = platform_server(workdir)
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


def print_table(results: list[Result], seconds: float, concurrency: int, clients: int) -> None:
    print(
        f"\n{concurrency} concurrent keep-alive connections over {clients} httpx client(s), "
        f"{seconds:g} s per target after warm-up, loopback; the load generator shares the CPU cores\n"
    )
    print(
        table(
            ["target", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "vs bare"],
            [
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
            ],
        )
    )
    print_errors(results)
    print()


async def run(
    seconds: float, concurrency: int, warmup: float, clients: int, academy_url: str, hello_url: str
) -> list[Result]:
    token = api_token(academy_url, STUDENT_EMAIL, DEMO_PASSWORD)
    cookies = session_cookies(academy_url, STUDENT_EMAIL, DEMO_PASSWORD, check_path="/dashboard")
    targets = [
        Target("bare ASGI hello", hello_url, ["/"]),
        Target("GET /healthz", academy_url, ["/healthz"]),
        Target(
            "GET /api/v1/auth/me (bearer)",
            academy_url,
            ["/api/v1/auth/me"],
            headers={"Authorization": f"Bearer {token}"},
        ),
        Target("GET /dashboard (cookie)", academy_url, ["/dashboard"], cookies=cookies),
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
    add_load_arguments(parser)
    parser.add_argument(
        "--clients",
        type=int,
        default=0,
        help="httpx.AsyncClient pools the connections are spread over (default: one per connection; "
        "1 = a single shared pool, which is much slower on the client side)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    check_load_arguments(parser, args)
    if not 0 <= args.clients <= args.concurrency:
        parser.error("--clients must be in [0, --concurrency]")
    clients = args.clients or args.concurrency

    use_uvloop()
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
            "results": [r.as_json(omit=("paths",)) for r in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        print_table(results, args.seconds, args.concurrency, clients)
    return 0


if __name__ == "__main__":
    sys.exit(main())
