"""Browser journeys against the real server (migrate + demo + serve), driven by Debian's chromium.

Run with `pytest -q -m e2e -p no:cacheprovider` (the repo's addopts deselect e2e by default).
Self-contained: nothing here depends on tests/fixtures; the server comes from tests/support/server.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.e2e.browsing import DEVICES
from tests.support.server import Server

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # A fresh data folder under pytest's tmp dir (kept for the last few runs: serve.log helps debugging).
    server = Server(
        tmp_path_factory.mktemp("academy-data"),
        extra_env={
            # Every journey signs up and signs in from 127.0.0.1 against one server: together they pass
            # the per-minute limits meant for one person (the limits have their own tests).
            "ACADEMY_RATE_LIMIT_SIGNUP": "100/minute",
            "ACADEMY_RATE_LIMIT_LOGIN": "100/minute",
            # The same full-text coach whether or not this machine has the optional `semantic` extra.
            "ACADEMY_EMBEDDINGS": "none",
        },
    )
    server.prepare()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server_url(live_server: Server) -> str:
    return live_server.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Any]:
    opened: list[BrowserContext] = []

    def make(device: str) -> BrowserContext:
        context = browser.new_context(**DEVICES[device])
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()
