"""The embeddings provider and the OpenAI-compatible adapter against a local HTTP server."""

import numpy as np
import pytest
from aiohttp import web

from academy.config import get_settings
from academy.integrations.embeddings import Embedder, EmbeddingError, embedder
from academy.integrations.embeddings.openai_compat import OpenAICompatibleEmbedder


@pytest.fixture
async def embeddings_server():
    state = {"status": 200, "requests": []}

    async def handler(request):
        body = await request.json()
        state["requests"].append((body, request.headers.get("Authorization")))
        if state["status"] != 200:
            return web.json_response({"error": {"message": "boom"}}, status=state["status"])
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(text)), 3.0, 4.0]}
            for i, text in enumerate(body["input"])
        ]
        data.reverse()  # servers may answer out of order; the index says which is which
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/embeddings", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state["url"] = f"http://127.0.0.1:{port}/v1"
    yield state
    await runner.cleanup()


async def test_openai_compatible_embeddings_are_ordered_and_normalized(embeddings_server):
    adapter = OpenAICompatibleEmbedder(
        base_url=embeddings_server["url"], api_key="secret", model="nomic-embed-text", timeout=5
    )
    assert isinstance(adapter, Embedder) and adapter.name == "openai:nomic-embed-text"
    vectors = await adapter.embed(["", "abc"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 3)
    assert np.allclose(vectors[0], [0.0, 0.6, 0.8]) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    body, auth = embeddings_server["requests"][0]
    assert body["input"] == ["", "abc"] and body["model"] == "nomic-embed-text" and auth == "Bearer secret"


async def test_server_errors_become_embedding_errors(embeddings_server):
    embeddings_server["status"] = 500
    adapter = OpenAICompatibleEmbedder(base_url=embeddings_server["url"], api_key="", model="m", timeout=5)
    with pytest.raises(EmbeddingError):
        await adapter.embed(["anything"])


def test_the_provider_follows_the_settings(monkeypatch):
    monkeypatch.setenv("ACADEMY_EMBEDDINGS", "none")
    get_settings.cache_clear()
    assert embedder() is None
    monkeypatch.setenv("ACADEMY_EMBEDDINGS", "openai")
    monkeypatch.setenv("ACADEMY_EMBEDDINGS_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ACADEMY_EMBEDDINGS_MODEL", "text-embedding-3-small")
    get_settings.cache_clear()
    chosen = embedder()
    assert chosen is not None and chosen.name == "openai:text-embedding-3-small"
    monkeypatch.setenv("ACADEMY_EMBEDDINGS", "auto")
    get_settings.cache_clear()
    automatic = embedder()
    assert automatic is None or automatic.name == "all-MiniLM-L6-v2"
    get_settings.cache_clear()
