from __future__ import annotations

from functools import lru_cache

from academy.config import Settings, get_settings
from academy.integrations.llm.citations import CitationFilter, cited_numbers, strip_invalid
from academy.integrations.llm.fallback import FallbackLLM
from academy.integrations.llm.grounded import GroundedAnswerer
from academy.integrations.llm.protocol import LLM, AnswerRequest, LLMError, Passage, Turn

__all__ = [
    "LLM",
    "AnswerRequest",
    "CitationFilter",
    "FallbackLLM",
    "GroundedAnswerer",
    "LLMError",
    "Passage",
    "Turn",
    "cited_numbers",
    "llm",
    "strip_invalid",
]


def llm(settings: Settings | None = None) -> LLM:
    """The grounded answerer, or an OpenAI-compatible server that falls back to it when one is set."""
    settings = settings or get_settings()
    if not settings.llm_base_url:
        return GroundedAnswerer()
    return _remote(settings.llm_base_url, settings.llm_api_key, settings.llm_model, settings.llm_timeout)


# One adapter per configuration, so its HTTP connections are reused across questions.
@lru_cache(maxsize=4)
def _remote(base_url: str, api_key: str, model: str, timeout: float) -> LLM:
    # Imported here so a process without a configured server never loads the openai SDK.
    from academy.integrations.llm.openai_compat import OpenAICompatible

    return FallbackLLM(OpenAICompatible(base_url, api_key, model, timeout), GroundedAnswerer())
