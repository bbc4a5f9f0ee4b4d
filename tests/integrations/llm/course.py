"""Passages cut from the real Trading Foundations content, the way the search index stores them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from academy.course.markdown import chunks, plain_text
from academy.integrations.llm import Passage

COURSE = Path(__file__).resolve().parents[3] / "content" / "trading-foundations"


@cache
def _lessons() -> dict[str, tuple[int, str, str]]:
    lessons = {}
    for number, path in enumerate(sorted(COURSE.glob("*/*.md")), start=1):
        _, front, body = path.read_text(encoding="utf-8").split("---", 2)
        meta = yaml.safe_load(front)
        lessons[meta["slug"]] = (number, meta["title"], body)
    return lessons


def lesson(slug: str, heading: str) -> Passage:
    """The chunk of a lesson section, as `academy.course.importer` indexes it (plain text)."""
    document_id, title, body = _lessons()[slug]
    chunk = next(c for c in chunks(body) if c.heading == heading)
    return Passage(0, document_id, "lesson", title, chunk.heading, f"/lessons/{slug}#{heading}", chunk.text)


def glossary(term: str) -> Passage:
    entries = yaml.safe_load((COURSE / "glossary.yaml").read_text(encoding="utf-8"))
    entry = next(e for e in entries if e["term"] == term)
    return Passage(
        0, 1000 + entries.index(entry), "glossary", term, "", f"/glossary#{term}", entry["definition"]
    )


def faq(question_start: str) -> Passage:
    entries = yaml.safe_load((COURSE / "faq.yaml").read_text(encoding="utf-8"))
    entry = next(e for e in entries if e["question"].startswith(question_start))
    return Passage(
        0, 2000 + entries.index(entry), "faq", entry["question"], "", "/faq", plain_text(entry["answer"])
    )


def ranked(*passages: Passage) -> list[Passage]:
    """Number passages 1..n in retrieval order, as the coach does before asking the answerer."""
    return [
        Passage(n, p.document_id, p.kind, p.title, p.heading, p.url, p.text)
        for n, p in enumerate(passages, start=1)
    ]
