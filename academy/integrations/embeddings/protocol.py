"""The embeddings protocol: texts in, L2-normalized float32 vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


class EmbeddingError(Exception):
    """The embedder could not embed (model missing, server error, timeout)."""


@runtime_checkable
class Embedder(Protocol):
    # Identifies the vector space: vectors of different names are never compared.
    name: str

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dim), float32, each row of length 1."""
        ...
