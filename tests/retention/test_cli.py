"""`academy risk …` as an operator runs it, in its own data folder."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _academy(data, *args):
    env = {**os.environ, "ACADEMY_DATA_DIR": str(data), "ACADEMY_LOG_LEVEL": "WARNING"}
    for key in ("ACADEMY_DATABASE_URL", "ACADEMY_REDIS_URL"):
        env.pop(key, None)
    env["ACADEMY_JOBS_INLINE"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "academy.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_risk_commands(tmp_path):
    assert _academy(tmp_path, "migrate").returncode == 0
    status = _academy(tmp_path, "risk", "status")
    assert status.returncode == 0, status.stderr
    assert "scorer: rules" in status.stdout and "scored enrolments: 0, at risk: 0" in status.stdout
    scored = _academy(tmp_path, "risk", "score")
    assert scored.returncode == 0 and "scored 0 enrolment(s) with rules" in scored.stdout
    missing = _academy(tmp_path, "risk", "score", "--course", "no-such-course")
    assert missing.returncode == 1 and "no course with slug 'no-such-course'" in missing.stderr
    trained = _academy(tmp_path, "risk", "train")
    assert trained.returncode == 1 and "Not enough finished enrolments to train on: 0" in trained.stderr
