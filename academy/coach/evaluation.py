"""`academy coach eval`: retrieval and answer quality of the coach on a set of questions.

Each line of the set is `{"question": ..., "source": ...}`; `source` names the chunk that should
answer it:

* `<lesson-slug>` — any section of that lesson (the slug from the lesson's front matter);
* `glossary:<term>` — the glossary term, written as the term ("Stop-loss order") or its slug
  ("stop-loss-order");
* `faq:<slug>` — the FAQ entry whose question, slugified the way glossary terms are (lower case,
  every run of non-word characters a hyphen: "How do I choose a broker?" ->
  "how-do-i-choose-a-broker"), starts with `<slug>`. A prefix is enough as long as it names
  exactly one entry.

Sources are resolved to rows of the configured database, so the course must have been imported.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from academy.coach.knowledge import Hit, knowledge_service
from academy.coach.knowledge_repository import KnowledgeRepository
from academy.config import get_settings
from academy.integrations.embeddings import Embedder
from academy.integrations.llm.citations import cited_numbers
from academy.integrations.llm.protocol import LLM, AnswerRequest, Passage


class EvaluationError(Exception):
    """The question set is malformed or names a source the database does not have."""


@dataclass(frozen=True)
class Case:
    line: int
    question: str
    source: str


@dataclass
class Report:
    questions: int
    retrieval: str
    answerer: str
    hit_at_1: float
    hit_at_3: float
    mrr: float
    citation_accuracy: float
    escalation_rate: float
    p95_ms: float
    retrieval_p95_ms: float
    misses: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def slug(text: str) -> str:
    # The same rule the course importer uses for glossary slugs.
    return re.sub(r"[^\w]+", "-", text.casefold()).strip("-")


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EvaluationError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        question, source = (
            (data.get("question"), data.get("source")) if isinstance(data, dict) else (None, None)
        )
        if not isinstance(question, str) or not question.strip() or not isinstance(source, str) or not source:
            raise EvaluationError(f'{path}:{number}: expected {{"question": "...", "source": "..."}}')
        cases.append(Case(number, question.strip(), source.strip()))
    if not cases:
        raise EvaluationError(f"{path}: no questions")
    return cases


async def resolve_sources(session: AsyncSession, cases: Sequence[Case]) -> dict[str, tuple[str, int]]:
    """source -> (chunk kind, ref id); every problem is reported at once."""
    repo = KnowledgeRepository(session)
    lessons = await repo.lesson_ids()
    terms = await repo.glossary_ids()
    faq = [(entry_id, slug(question)) for entry_id, question in await repo.faq_questions()]
    resolved: dict[str, tuple[str, int]] = {}
    problems = []
    for case in cases:
        if case.source in resolved:
            continue
        kind, _, name = case.source.partition(":")
        if not name:
            kind, name = "lesson", case.source
        if kind == "lesson" and name in lessons:
            resolved[case.source] = ("lesson", lessons[name])
        elif kind == "glossary" and slug(name) in terms:
            resolved[case.source] = ("glossary", terms[slug(name)])
        elif kind == "faq":
            matches = [entry_id for entry_id, question in faq if question.startswith(slug(name))]
            if len(matches) == 1:
                resolved[case.source] = ("faq", matches[0])
            else:
                problems.append(f"line {case.line}: {case.source!r} matches {len(matches)} FAQ entries")
        else:
            problems.append(f"line {case.line}: unknown source {case.source!r}")
    if problems:
        raise EvaluationError("\n".join(problems))
    return resolved


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


async def evaluate(
    session: AsyncSession, cases: Sequence[Case], *, embedder: Embedder | None, answerer: LLM
) -> Report:
    threshold = get_settings().coach_confidence_threshold
    sources = await resolve_sources(session, cases)
    if embedder is not None:
        # What the beat job would have done: every chunk has its vector before the questions.
        report = await knowledge_service.sync(session, embedder)
        while report.remaining:
            report = await knowledge_service.sync(session, embedder)
    hit1 = hit3 = cited = escalated = 0
    reciprocal = 0.0
    totals: list[float] = []
    retrievals: list[float] = []
    misses: list[dict[str, Any]] = []
    for case in cases:
        target = sources[case.source]
        started = time.perf_counter()
        hits = await knowledge_service.retrieve(session, case.question, embedder=embedder)
        retrievals.append((time.perf_counter() - started) * 1000)
        confidence = knowledge_service.confidence(case.question, hits)
        answer = await _answer(answerer, case.question, hits)
        totals.append((time.perf_counter() - started) * 1000)
        rank = next((i for i, h in enumerate(hits, 1) if (h.kind, h.ref_id) == target), None)
        if rank is not None:
            hit1 += rank == 1
            hit3 += rank <= 3
            reciprocal += 1 / rank
        numbers = set(cited_numbers(answer))
        cited += any((h.kind, h.ref_id) == target for n, h in enumerate(hits, 1) if n in numbers)
        escalated += confidence < threshold
        if rank != 1:
            misses.append(
                {
                    "line": case.line,
                    "question": case.question,
                    "source": case.source,
                    "rank": rank,
                    "top": f"{hits[0].kind}: {hits[0].title} / {hits[0].heading}" if hits else None,
                    "confidence": confidence,
                }
            )
    count = len(cases)
    return Report(
        questions=count,
        retrieval="hybrid" if embedder is not None else "fulltext",
        answerer=answerer.name,
        hit_at_1=round(hit1 / count, 4),
        hit_at_3=round(hit3 / count, 4),
        mrr=round(reciprocal / count, 4),
        citation_accuracy=round(cited / count, 4),
        escalation_rate=round(escalated / count, 4),
        p95_ms=round(_percentile(totals, 0.95), 1),
        retrieval_p95_ms=round(_percentile(retrievals, 0.95), 1),
        misses=misses,
    )


async def _answer(answerer: LLM, question: str, hits: Sequence[Hit]) -> str:
    passages = [
        Passage(n, h.document_id, h.kind, h.title, h.heading, h.url, h.text) for n, h in enumerate(hits, 1)
    ]
    pieces = [piece async for piece in answerer.stream(AnswerRequest(question=question, passages=passages))]
    return "".join(pieces)
