"""Any OpenAI-compatible embeddings endpoint (OpenAI, Ollama, vLLM, LocalAI…) through the openai SDK."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

import numpy as np
import openai

from academy.integrations.embeddings.protocol import EmbeddingError


class OpenAICompatibleEmbedder:
    def __init__(self, *, base_url: str, api_key: str, model: str, timeout: float = 20.0) -> None:
        self.base_url = base_url or None
        # Local servers need no key, but the SDK refuses an empty one.
        self._api_key = api_key or "no-key"
        self.timeout = timeout
        self.model = model
        self.name = f"openai:{model}"
        # The SDK's connection pool belongs to the event loop that opened it, and CLI commands and
        # Celery tasks run several loops in one process: one client per loop.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = openai.AsyncOpenAI(
                base_url=self.base_url, api_key=self._api_key, timeout=self.timeout, max_retries=1
            )
            self._clients[loop] = client
        return client

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            response = await self._client().embeddings.create(model=self.model, input=list(texts))
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embeddings endpoint failed: {exc}") from exc
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise EmbeddingError(f"embeddings endpoint returned {len(rows)} vectors for {len(texts)} texts")
        vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise EmbeddingError("embeddings endpoint returned a zero vector")
        return vectors / norms
