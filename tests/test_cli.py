"""The `academy` command as an operator uses it, in its own data folder."""

import os
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _academy(data, *args, input_text=None):
    env = {**os.environ, "ACADEMY_DATA_DIR": str(data), "ACADEMY_LOG_LEVEL": "WARNING"}
    for key in ("ACADEMY_DATABASE_URL", "ACADEMY_REDIS_URL", "ACADEMY_JOBS_INLINE"):
        env.pop(key, None)
    env["ACADEMY_JOBS_INLINE"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "academy.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=120,
    )


def test_migrate_createuser_and_demo(tmp_path):
    assert _academy(tmp_path, "migrate").returncode == 0
    made = _academy(
        tmp_path, "createuser", "boss@example.com", "--role", "admin", "--password", "s3cret-pass"
    )
    assert made.returncode == 0 and "created admin boss@example.com" in made.stdout
    again = _academy(tmp_path, "createuser", "boss@example.com", "--password", "s3cret-pass")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad_role = _academy(
        tmp_path, "createuser", "x@example.com", "--role", "wizard", "--password", "s3cret-pass"
    )
    assert bad_role.returncode != 0 and "role must be one of" in bad_role.stderr

    first = _academy(tmp_path, "demo")
    second = _academy(tmp_path, "demo")
    assert first.returncode == second.returncode == 0
    for role in ("student", "curator", "expert", "admin"):
        assert f"{role}@demo.academy.school" in first.stdout
    db = sqlite3.connect(tmp_path / "academy.sqlite")
    roles = dict(db.execute("select email, role from users").fetchall())
    assert roles["boss@example.com"] == "admin" and len(roles) == 5, "demo is idempotent"
