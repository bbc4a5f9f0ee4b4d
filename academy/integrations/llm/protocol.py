"""The LLM protocol the coach speaks: a question, the retrieved passages, and how to answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk. The answer cites it as `[n]`; only these numbers may appear in an answer."""

    n: int
    document_id: int
    kind: str  # "lesson", "glossary" or "faq"
    title: str
    heading: str
    url: str
    text: str


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class AnswerRequest:
    question: str
    passages: Sequence[Passage]
    history: Sequence[Turn] = ()
    locale: str = "en"
    # "hint": the question matches a graded item the student has not finished; guide them to the
    # material and the reasoning, never state the answer.
    mode: Literal["answer", "hint"] = "answer"
    # Where the student is, in a sentence or two (course, lesson, recent quiz results).
    context: str = ""


class LLMError(Exception):
    """The model could not answer (server error, timeout, malformed stream)."""


@runtime_checkable
class LLM(Protocol):
    name: str

    def stream(self, request: AnswerRequest) -> AsyncIterator[str]:
        """The answer as text pieces, citing passages as [n]. Raises LLMError when it cannot answer."""
        ...
