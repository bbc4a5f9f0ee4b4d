"""`academy coach eval` as an operator runs it: its own database, a course imported, a question set."""

import json
import os
import subprocess
import sys

import pytest

from tests.fixtures.learning import write_course_folder

pytestmark = pytest.mark.slow

BODIES = {
    0: "## Candles\n\nA candlestick shows the open, high, low and close of one period.",
    1: "## Stops\n\nA stop-loss closes the trade when price reaches the level where you are wrong.",
    2: "## Sizing\n\nPosition size is the account risk divided by the distance to the stop.",
}


def _academy(data, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACADEMY_")}
    env.update(
        {
            "ACADEMY_DATA_DIR": str(data),
            "ACADEMY_LOG_LEVEL": "WARNING",
            "ACADEMY_JOBS_INLINE": "true",
            "ACADEMY_EMBEDDINGS": "none",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "academy.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    data = tmp_path_factory.mktemp("eval")
    folder = write_course_folder(
        data / "content",
        lessons=3,
        bodies=BODIES,
        glossary=[("Spread", "The gap between the bid and the ask price.")],
        faq=[("How long does the course take?", "About a week of evenings.")],
    )
    assert _academy(data, "migrate").returncode == 0
    imported = _academy(data, "content", "import", str(folder))
    assert imported.returncode == 0, imported.stderr
    return data


def test_eval_prints_the_metrics_as_json(school):
    questions = school / "questions.jsonl"
    lines = [
        {"question": "what are the four prices of a candle", "source": "lesson-1"},
        {"question": "where do i put my stoploss", "source": "lesson-2"},
        {"question": "how big should my position be", "source": "lesson-3"},
        {"question": "gap between bid and ask?", "source": "glossary:Spread"},
        {"question": "how many evenings does it take", "source": "faq:how-long-does-the-course"},
    ]
    questions.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = _academy(school, "coach", "eval", str(questions), "--json", "--retrieval", "fulltext")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"hit_at_1", "hit_at_3", "mrr", "citation_accuracy", "escalation_rate", "p95_ms"} <= set(report)
    assert report["questions"] == 5 and report["retrieval"] == "fulltext"
    assert report["hit_at_1"] >= 0.8 and report["hit_at_3"] == 1.0
    assert 0 <= report["citation_accuracy"] <= 1 and report["p95_ms"] > 0

    table = _academy(school, "coach", "eval", str(questions), "--retrieval", "fulltext")
    assert table.returncode == 0 and "hit@1" in table.stdout and "citation accuracy" in table.stdout


def test_eval_rejects_sources_the_database_does_not_have(school):
    questions = school / "bad.jsonl"
    questions.write_text(
        json.dumps({"question": "q", "source": "no-such-lesson"})
        + "\n"
        + json.dumps({"question": "q", "source": "faq:why-is-the-sky-blue"})
        + "\n",
        encoding="utf-8",
    )
    result = _academy(school, "coach", "eval", str(questions), "--retrieval", "fulltext")
    assert result.returncode == 1
    assert (
        "unknown source 'no-such-lesson'" in result.stderr
        and "line 2: 'faq:why-is-the-sky-blue' matches 0 FAQ entries" in result.stderr
    )


def test_hybrid_needs_an_embedder(school):
    questions = school / "one.jsonl"
    questions.write_text(json.dumps({"question": "q", "source": "lesson-1"}) + "\n", encoding="utf-8")
    result = _academy(school, "coach", "eval", str(questions), "--retrieval", "hybrid")
    assert result.returncode == 1 and "needs an embedder" in result.stderr
