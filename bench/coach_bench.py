"""The AI coach in-process: retrieval at 10k and 100k chunks, the embedded answerer, and the
time-to-first-token overhead of the OpenAI-compatible adapter.

Builds, in a fresh temporary data folder (SQLite, loopback only):
  * the real Trading Foundations course (content/trading-foundations), imported like
    `academy content import` (~400 chunks);
  * generated chunks up to each size: variations of the real chunks (their sentences reordered,
    mixed with sentences of other chunks, a few words swapped), inserted as `search_documents` rows
    so the FTS5 triggers index them;
  * vectors for every chunk through `knowledge_service.sync`, from a fast deterministic hashing
    embedder (384 dimensions, like MiniLM): embedding 100k chunks with MiniLM takes hours on 2 cores.
    Vector search costs the same whatever produced the vectors; MiniLM's own cost per question (one
    short query) is measured separately and added in the "hybrid + MiniLM query" row.

Then times `knowledge_service.retrieve` for the questions of eval/coach/trading-foundations.jsonl,
full-text only and hybrid, after one warm-up pass (the first query after a change builds the
vocabulary and loads the vectors: timed separately as "cold"). The embedded grounded answerer is
timed over the real course's hits for the same questions. Time to first token: a local HTTP server
speaking chat completions (SSE) waits a fixed 1 s before its first chunk; the overhead is what the
adapter adds on top of that second.

    python bench/coach_bench.py [--sizes 10000,100000] [--repeat 2] [--ttft-runs 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COURSE = ROOT / "content" / "trading-foundations"
QUESTIONS = ROOT / "eval" / "coach" / "trading-foundations.jsonl"
DIMENSIONS = 384


class HashingEmbedder:
    """Words hashed into 384 dimensions (crc32), L2-normalized: deterministic and ~100x faster than
    MiniLM, with similar geometry for texts that share words. Implements the embeddings protocol."""

    name = "bench-hashing-384"

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w{3,}", text.casefold()):
                vectors[row, zlib.crc32(word[:6].encode()) % DIMENSIONS] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 0.50), 2),
        "p95_ms": round(percentile(values_ms, 0.95), 2),
    }


def questions() -> list[str]:
    return [
        json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line
    ]


async def import_course() -> int:
    from academy.course.service import course_service
    from academy.kit.uow import UnitOfWork

    async with UnitOfWork() as uow:
        report = await course_service.import_folder(uow.session, COURSE)
        return int(report.course_id)


async def top_up(target: int, rng: random.Random) -> tuple[int, float]:
    """Insert generated chunks until there are `target`; returns (inserted, seconds)."""
    from sqlalchemy import func, insert, select

    from academy.kit.uow import UnitOfWork
    from academy.models import SearchDocument

    async with UnitOfWork() as uow:
        real = (
            (await uow.session.execute(select(SearchDocument).where(SearchDocument.part < 1000)))
            .scalars()
            .all()
        )
        have = (await uow.session.execute(select(func.count()).select_from(SearchDocument))).scalar_one()
        next_part = (await uow.session.execute(select(func.max(SearchDocument.part)))).scalar_one()
    missing = target - have
    if missing <= 0:
        return 0, 0.0
    sentences = [s for doc in real for s in re.split(r"(?<=[.!?])\s+", doc.body) if len(s) > 20]
    vocabulary = sorted({w for s in sentences for w in s.split() if w.isalpha()})
    lessons = [doc for doc in real if doc.kind == "lesson"]
    started = time.perf_counter()
    part = max(1000, (next_part or 0) + 1)
    rows: list[dict[str, Any]] = []
    for _ in range(missing):
        source = rng.choice(real)
        own = re.split(r"(?<=[.!?])\s+", source.body)
        mixed = own + rng.sample(sentences, k=min(3, len(sentences)))
        rng.shuffle(mixed)
        words = " ".join(mixed).split()
        for _ in range(max(1, len(words) // 20)):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        lesson = source if source.kind == "lesson" else rng.choice(lessons)
        rows.append(
            {
                "course_id": source.course_id,
                "kind": "lesson",
                "ref_id": lesson.ref_id,
                "part": part,
                "title": lesson.title,
                "heading": f"{source.heading or source.title} (archive {part})",
                "body": " ".join(words[:220]),
                "published": True,
            }
        )
        part += 1
        if len(rows) == 5000:
            async with UnitOfWork() as uow:
                await uow.session.execute(insert(SearchDocument), rows)
            rows = []
    if rows:
        async with UnitOfWork() as uow:
            await uow.session.execute(insert(SearchDocument), rows)
    return missing, time.perf_counter() - started


async def sync(embedder: Any) -> tuple[int, float]:
    from academy.coach.knowledge import knowledge_service
    from academy.kit.uow import UnitOfWork

    started = time.perf_counter()
    async with UnitOfWork() as uow:
        report = await knowledge_service.sync(uow.session, embedder, limit=10_000_000)
    return report.embedded, time.perf_counter() - started


async def time_retrieval(queries: list[str], embedder: Any, repeat: int) -> tuple[float, dict[str, float]]:
    """(cold first query ms, warm summary) for `queries` run `repeat` times after a warm-up pass."""
    from academy.coach.knowledge import knowledge_service
    from academy.kit.uow import UnitOfWork

    async with UnitOfWork() as uow:
        started = time.perf_counter()
        await knowledge_service.retrieve(uow.session, queries[0], embedder=embedder)
        cold = (time.perf_counter() - started) * 1000
        for query in queries:
            await knowledge_service.retrieve(uow.session, query, embedder=embedder)
        timings = []
        for _ in range(repeat):
            for query in queries:
                started = time.perf_counter()
                await knowledge_service.retrieve(uow.session, query, embedder=embedder)
                timings.append((time.perf_counter() - started) * 1000)
    return round(cold, 1), summary(timings)


def forget_caches() -> None:
    from academy.coach.knowledge import knowledge_service

    knowledge_service._vocabularies.clear()
    knowledge_service._matrices.clear()


async def minilm_query(queries: list[str]) -> dict[str, float] | None:
    from academy.integrations.embeddings.minilm import MiniLMEmbedder, available

    if not available():
        return None
    embedder = MiniLMEmbedder()
    await embedder.embed(["warm up"])
    timings = []
    for query in queries:
        started = time.perf_counter()
        await embedder.embed([query])
        timings.append((time.perf_counter() - started) * 1000)
    return summary(timings)


async def embedded_answers(queries: list[str]) -> dict[str, float]:
    from academy.coach.knowledge import knowledge_service
    from academy.integrations.llm import AnswerRequest, GroundedAnswerer, Passage
    from academy.kit.uow import UnitOfWork

    answerer = GroundedAnswerer()
    requests = []
    async with UnitOfWork() as uow:
        for query in queries:
            hits = await knowledge_service.retrieve(uow.session, query, embedder=None)
            passages = [
                Passage(n, h.document_id, h.kind, h.title, h.heading, h.url, h.text)
                for n, h in enumerate(hits, 1)
            ]
            requests.append(AnswerRequest(question=query, passages=passages))
    timings = []
    for _ in range(3):
        for request in requests:
            started = time.perf_counter()
            async for _piece in answerer.stream(request):
                pass
            timings.append((time.perf_counter() - started) * 1000)
    return summary(timings)


class SlowChatServer:
    """Chat completions over SSE that wait `delay` seconds before the first chunk, in its own thread
    and event loop so the client's timings carry none of the server's work."""

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowChatServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        from aiohttp import web

        async def completions(request: web.Request) -> web.StreamResponse:
            body = await request.json()
            await asyncio.sleep(self.delay)
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for piece in ["RSI ", "measures ", "momentum ", "[1]."]:
                chunk = {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            return response

        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", completions)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())


async def first_token_overhead(runs: int) -> dict[str, float]:
    from academy.integrations.llm import AnswerRequest, Passage
    from academy.integrations.llm.openai_compat import OpenAICompatible

    request = AnswerRequest(
        question="What does RSI measure?",
        passages=[
            Passage(1, 1, "lesson", "RSI", "What RSI measures", "/lessons/1", "RSI is a momentum indicator.")
        ],
    )
    with SlowChatServer(delay=1.0) as server:
        adapter = OpenAICompatible(server.base_url, "bench-key", "bench-model", timeout=10.0)
        overheads = []
        for run in range(runs + 1):
            started = time.perf_counter()
            first = None
            async for _piece in adapter.stream(request):
                if first is None:
                    first = time.perf_counter() - started
            if run and first is not None:  # the first run opens the connection pool: warm-up
                overheads.append((first - 1.0) * 1000)
    return summary(overheads)


def prepare() -> str:
    """A migrated SQLite database in a fresh folder; migrations run their own event loop."""
    from academy.cli import migrate_database
    from academy.config import get_settings
    from academy.kit import logging as kit_logging

    kit_logging.configure(json=False, level="WARNING")  # stderr, so --json stays parseable

    folder = Path(tempfile.mkdtemp(prefix="coach-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite'}"
    os.environ.update(
        {
            "ACADEMY_DATA_DIR": str(folder),
            "ACADEMY_DATABASE_URL": url,
            "ACADEMY_EMBEDDINGS": "none",
            "ACADEMY_LOG_LEVEL": "WARNING",
        }
    )
    get_settings.cache_clear()
    migrate_database(url)
    return url


async def main(args: argparse.Namespace, url: str) -> dict[str, Any]:
    from academy.kit import db

    db.configure(url)
    rng = random.Random(20261122)
    queries = questions()
    embedder = HashingEmbedder()
    results: dict[str, Any] = {"queries": len(queries), "repeat": args.repeat, "sizes": {}}
    try:
        await import_course()
        results["embedded_answer"] = await embedded_answers(queries)
        results["minilm_query_embedding"] = await minilm_query(queries)
        for size in args.sizes:
            inserted, build_s = await top_up(size, rng)
            embedded, sync_s = await sync(embedder)
            forget_caches()
            cold_text, fulltext = await time_retrieval(queries, None, args.repeat)
            forget_caches()
            cold_hybrid, hybrid = await time_retrieval(queries, embedder, args.repeat)
            row: dict[str, Any] = {
                "inserted": inserted,
                "insert_s": round(build_s, 1),
                "synced": embedded,
                "sync_s": round(sync_s, 1),
                "fulltext": fulltext,
                "fulltext_cold_ms": cold_text,
                "hybrid": hybrid,
                "hybrid_cold_ms": cold_hybrid,
            }
            minilm = results["minilm_query_embedding"]
            if minilm:
                row["hybrid_plus_minilm_query"] = {
                    "p50_ms": round(hybrid["p50_ms"] + minilm["p50_ms"], 2),
                    "p95_ms": round(hybrid["p95_ms"] + minilm["p95_ms"], 2),
                }
            results["sizes"][size] = row
            print(f"  {size:,} chunks done", file=sys.stderr)
        results["first_token_overhead"] = await first_token_overhead(args.ttft_runs)
    finally:
        await db.close()
    return results


def print_table(results: dict[str, Any]) -> None:
    print(f"\nretrieval, {results['queries']} questions x {results['repeat']} (warm), SQLite, in-process")
    print(f"{'chunks':>8}  {'mode':<26} {'p50 ms':>8} {'p95 ms':>8} {'cold ms':>8}")
    for size, row in results["sizes"].items():
        print(
            f"{size:>8,}  {'full-text':<26} {row['fulltext']['p50_ms']:>8} {row['fulltext']['p95_ms']:>8} "
            f"{row['fulltext_cold_ms']:>8}"
        )
        print(
            f"{'':>8}  {'hybrid (hashing vectors)':<26} {row['hybrid']['p50_ms']:>8} {row['hybrid']['p95_ms']:>8} "
            f"{row['hybrid_cold_ms']:>8}"
        )
        if "hybrid_plus_minilm_query" in row:
            extra = row["hybrid_plus_minilm_query"]
            print(f"{'':>8}  {'hybrid + MiniLM query':<26} {extra['p50_ms']:>8} {extra['p95_ms']:>8}")
        print(
            f"{'':>8}  (generated {row['inserted']:,} chunks in {row['insert_s']} s; "
            f"synced {row['synced']:,} vectors in {row['sync_s']} s)"
        )
    minilm = results["minilm_query_embedding"]
    if minilm:
        print(f"\nMiniLM, one question:        p50 {minilm['p50_ms']} ms, p95 {minilm['p95_ms']} ms")
    else:
        print("\nMiniLM not installed (the `semantic` extra): no query-embedding figures")
    answer = results["embedded_answer"]
    print(f"embedded grounded answer:    p50 {answer['p50_ms']} ms, p95 {answer['p95_ms']} ms")
    ttft = results["first_token_overhead"]
    print(
        f"first-token overhead (1 s server): p50 {ttft['p50_ms']} ms, p95 {ttft['p95_ms']} ms "
        f"over {ttft['n']} runs"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts, ascending")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes over the questions")
    parser.add_argument("--ttft-runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    arguments.sizes = sorted(int(s) for s in arguments.sizes.split(","))
    outcome = asyncio.run(main(arguments, prepare()))
    if arguments.json:
        print(json.dumps(outcome, indent=2))
    else:
        print_table(outcome)
