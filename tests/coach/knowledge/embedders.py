"""Deterministic embedders for tests: the real MiniLM model needs torch, which CI does not install."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

DIMENSIONS = 256
# Function words would make every pair of sentences look alike.
_IGNORED_TEXT = """
    the and for what how who why when where which does did was were are you your with from that this
    have has can should would into about than then them they there their its our out
"""
IGNORED = frozenset(_IGNORED_TEXT.split())


class HashingEmbedder:
    """Bag of word stems hashed into a fixed number of dimensions, L2-normalized: texts that share
    words are close, unrelated texts are nearly orthogonal. Implements the embeddings protocol."""

    def __init__(self, name: str = "test-hashing") -> None:
        self.name = name
        self.calls: list[list[str]] = []

    @property
    def embedded(self) -> int:
        return sum(len(batch) for batch in self.calls)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.casefold()):
                if len(word) < 3 or word in IGNORED:
                    continue
                digest = hashlib.blake2b(word[:5].encode(), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % DIMENSIONS] += 1.0
            norm = np.linalg.norm(vectors[row])
            if norm == 0:
                vectors[row, 0] = 1.0
            else:
                vectors[row] /= norm
        return vectors
