"""Embeddings for the coach's vector retrieval: the local MiniLM model (the `semantic` extra) or an
OpenAI-compatible endpoint; None means full-text only."""

from __future__ import annotations

from functools import lru_cache

from academy.config import Settings, get_settings
from academy.integrations.embeddings.protocol import Embedder, EmbeddingError

__all__ = ["Embedder", "EmbeddingError", "embedder"]


def embedder(settings: Settings | None = None) -> Embedder | None:
    settings = settings or get_settings()
    choice = settings.embeddings.strip().lower()
    if choice == "none":
        return None
    if choice == "openai":
        return _openai(settings.embeddings_base_url, settings.embeddings_api_key, settings.embeddings_model)
    if choice != "auto":
        raise ValueError(f"unknown embeddings setting {settings.embeddings!r} (auto, openai or none)")
    return _minilm()


@lru_cache(maxsize=1)
def _minilm() -> Embedder | None:
    from academy.integrations.embeddings import minilm

    return minilm.MiniLMEmbedder() if minilm.available() else None


# One client (and its connection pool) per configuration.
@lru_cache(maxsize=4)
def _openai(base_url: str, api_key: str, model: str) -> Embedder:
    from academy.integrations.embeddings.openai_compat import OpenAICompatibleEmbedder

    return OpenAICompatibleEmbedder(base_url=base_url, api_key=api_key, model=model)
