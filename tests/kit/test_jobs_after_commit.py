"""A job enqueued inside a request reaches a real Celery worker only if the request commits."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from fastapi import Depends

from academy.auth.access import public
from academy.kit import jobs
from academy.kit.deps import UoW
from academy.kit.errors import Conflict
from academy.kit.uow import UnitOfWork
from academy.models import Email
from academy.worker import CeleryDispatcher, celery_app, reset_celery
from tests.fixtures.db import reconfigure

pytestmark = pytest.mark.slow


async def _queued_email(subject: str) -> int:
    async with UnitOfWork() as uow:
        mail = Email(kind="system", to_address="w@example.com", subject=subject, body_text="hi")
        uow.session.add(mail)
        await uow.session.flush()
        return mail.id


async def _status(email_id: int) -> str:
    async with UnitOfWork() as uow:
        return (await uow.session.get(Email, email_id)).status


async def _wait_sent(email_id: int, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await _status(email_id) == "sent":
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"email {email_id} was not delivered by the worker within {timeout} s")


@pytest.fixture
def celery_worker(settings, monkeypatch):
    current = reconfigure(monkeypatch, jobs_inline="false")
    reset_celery()
    celery_app().control.purge()
    jobs.set_dispatcher(CeleryDispatcher())
    env = {**os.environ}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "academy.worker",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
        ],
        env=env,
        start_new_session=True,
    )
    yield current
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    jobs.set_dispatcher(jobs.InlineDispatcher())
    reset_celery()


async def test_enqueue_runs_only_after_commit(app, client, celery_worker):
    async def deliver(email_id: int, uow: UoW, fail: bool = False, _=Depends(public)) -> dict:
        jobs.enqueue(uow.session, "notification.deliver_email", email_id)
        if fail:
            raise Conflict("the request failed after enqueueing")
        return {"queued": email_id}

    app.add_api_route("/api/v1/test-deliver/{email_id}", deliver, methods=["POST"])
    rolled_back = await _queued_email("rolled back")
    committed = await _queued_email("committed")

    r = await client.post(f"/api/v1/test-deliver/{rolled_back}?fail=true")
    assert r.status_code == 409
    r = await client.post(f"/api/v1/test-deliver/{committed}")
    assert r.status_code == 200

    await _wait_sent(committed)
    # One solo worker takes messages in order:
    # had the failed request's job been sent, it would have run first.
    assert await _status(rolled_back) == "queued"
