"""The OpenAI-compatible adapter and the fallback against a local chat-completions server."""

import pytest

from academy.config import Settings
from academy.integrations.llm import LLM, AnswerRequest, FallbackLLM, GroundedAnswerer, LLMError, Turn, llm
from academy.integrations.llm.openai_compat import OpenAICompatible
from tests.integrations.llm.course import glossary, lesson, ranked
from tests.integrations.llm.server import Behaviour, ChatServer


@pytest.fixture
async def server():
    chat = ChatServer()
    await chat.start()
    yield chat
    await chat.stop()


def request(**options) -> AnswerRequest:
    passages = ranked(lesson("rsi", "What RSI measures"), glossary("RSI"))
    return AnswerRequest("What is RSI?", passages, **options)


def adapter(server: ChatServer, timeout: float = 2.0) -> OpenAICompatible:
    return OpenAICompatible(base_url=server.base_url, api_key="sk-test", model="coach-model", timeout=timeout)


async def collect(model: LLM, req: AnswerRequest) -> list[str]:
    return [piece async for piece in model.stream(req)]


async def test_streams_and_sends_a_grounded_prompt(server):
    model = adapter(server)
    assert isinstance(model, LLM) and model.name == "openai:coach-model"
    history = [Turn("user", "Hi"), Turn("assistant", "Hello! Ask me about the course.")]
    req = request(history=history, locale="ru", context="Lesson: RSI. Last quiz: 3/6.")

    pieces = await collect(model, req)

    assert "".join(pieces) == "RSI is a momentum indicator [1]."
    assert len(pieces) > 1
    body, headers = server.requests[0]
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "coach-model" and body["stream"] is True
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    system, question = body["messages"][0]["content"], body["messages"][-1]["content"]
    assert "ONLY from the numbered course passages" in system and "[1], [2]" in system
    assert "Write in Russian" in system and "Lesson: RSI. Last quiz: 3/6." in system
    assert "do NOT give the answer" not in system.lower()
    assert "[1] The Relative Strength Index (RSI) — What RSI measures (lesson)" in question
    assert "[2] RSI (glossary)" in question and "momentum indicator" in question
    assert question.endswith("Question: What is RSI?")


async def test_hint_mode_is_in_the_prompt(server):
    await collect(adapter(server), request(mode="hint"))
    assert "Do NOT give the answer" in server.requests[0][0]["messages"][0]["content"]


async def test_citations_of_passages_not_retrieved_are_dropped_even_split_across_chunks(server):
    server.behaviour = Behaviour(pieces=["RSI measures momentum [", "7", "]", " and ranges 0-100 [2", "]."])
    assert "".join(await collect(adapter(server), request())) == "RSI measures momentum and ranges 0-100 [2]."


async def test_non_streaming_completion(server):
    server.behaviour = Behaviour(pieces=["RSI is a momentum indicator [1][9]."])
    assert await adapter(server).complete(request()) == "RSI is a momentum indicator [1]."
    assert server.requests[0][0]["stream"] is False


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(status=500),
        Behaviour(status=401),
        Behaviour(delay_before=1.0),  # the server answers later than the 0.3 s timeout
        Behaviour(pieces=[]),  # an empty answer is no answer
    ],
    ids=["500", "401", "timeout", "empty"],
)
async def test_failures_raise_llm_error(server, behaviour):
    server.behaviour = behaviour
    with pytest.raises(LLMError):
        await collect(adapter(server, timeout=0.3), request())
    if behaviour.status == 200 and behaviour.pieces:
        with pytest.raises(LLMError):
            await adapter(server, timeout=0.3).complete(request())


async def test_unreachable_server_raises_llm_error():
    model = OpenAICompatible(base_url="http://127.0.0.1:9/v1", api_key="", model="m", timeout=1.0)
    with pytest.raises(LLMError):
        await collect(model, request())


async def test_a_stream_that_stalls_or_breaks_raises_after_the_pieces_it_sent(server):
    for behaviour in (Behaviour(stall_after=2), Behaviour(break_after=2)):
        server.behaviour = behaviour
        pieces: list[str] = []
        with pytest.raises(LLMError):
            async for piece in adapter(server, timeout=0.3).stream(request()):
                pieces.append(piece)
        assert "".join(pieces).startswith("RSI is a")


@pytest.mark.parametrize(
    "behaviour", [Behaviour(status=500), Behaviour(delay_before=1.0)], ids=["500", "timeout"]
)
async def test_fallback_answers_from_the_material_when_the_server_fails(server, behaviour):
    server.behaviour = behaviour
    model = FallbackLLM(adapter(server, timeout=0.3), GroundedAnswerer())
    answer = "".join(await collect(model, request()))
    assert answer == GroundedAnswerer().answer(request())
    assert answer.startswith("The Relative Strength Index (RSI) is a momentum indicator.")


async def test_fallback_after_a_mid_stream_failure_says_so_and_answers_in_full(server):
    server.behaviour = Behaviour(stall_after=2)
    model = FallbackLLM(adapter(server, timeout=0.3), GroundedAnswerer())
    answer = "".join(await collect(model, request()))
    partial, rest = answer.split("…\n\n", 1)
    assert partial.rstrip() == "RSI is a momentum"
    assert rest.startswith("(The AI model stopped answering. Here is the answer from the course material")
    assert rest.endswith(GroundedAnswerer().answer(request()))


async def test_fallback_passes_a_healthy_stream_through(server):
    model = FallbackLLM(adapter(server), GroundedAnswerer())
    assert "".join(await collect(model, request())) == "RSI is a momentum indicator [1]."
    assert model.name == "openai:coach-model"


def test_provider_picks_the_answerer_from_settings():
    assert isinstance(llm(Settings(llm_base_url="")), GroundedAnswerer)
    remote = llm(Settings(llm_base_url="http://127.0.0.1:11434/v1", llm_model="llama3.2"))
    assert isinstance(remote, FallbackLLM) and remote.name == "openai:llama3.2"
    assert isinstance(remote.secondary, GroundedAnswerer)
