"""`academy metrics snapshot` and `academy metrics backfill`, as an operator (or the demo) runs them."""

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

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


def _rows(data):
    db = sqlite3.connect(data / "academy.sqlite")
    try:
        return db.execute("select day, scope from metric_snapshots order by day, scope").fetchall()
    finally:
        db.close()


def test_snapshot_and_backfill_are_idempotent(tmp_path):
    assert _academy(tmp_path, "migrate").returncode == 0
    # A school without courses still has its "all" row.
    first = _academy(tmp_path, "metrics", "snapshot", "--day", "2026-03-10")
    assert first.returncode == 0, first.stderr
    assert "2026-03-10: 1 snapshot(s) stored" in first.stdout
    assert _academy(tmp_path, "metrics", "snapshot", "--day", "2026-03-10").returncode == 0
    assert _rows(tmp_path) == [("2026-03-10", "all")]

    # Backfill: the 3 days ending yesterday (UTC); twice, still one row per day.
    for _ in range(2):
        filled = _academy(tmp_path, "metrics", "backfill", "--days", "3")
        assert filled.returncode == 0 and "3 snapshot(s) stored" in filled.stdout, filled.stderr
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    expected = [(str(yesterday - timedelta(days=n)), "all") for n in (2, 1, 0)]
    assert _rows(tmp_path) == [("2026-03-10", "all"), *expected]

    bad = _academy(tmp_path, "metrics", "snapshot", "--day", "10/03/2026")
    assert bad.returncode != 0 and "YYYY-MM-DD" in bad.stderr
