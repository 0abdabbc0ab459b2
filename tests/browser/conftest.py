"""A real `mango serve` process and a headless Chromium driven by Playwright.

The server gets its own database (a SQLite file, or a fresh PostgreSQL database beside
MANGO_TEST_DATABASE_URL's), migrated and filled with the same `world` as the unit tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mango_core.testing import live
from mango_core.testing.fixtures import CHROMIUM


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    instance = tmp_path_factory.mktemp("live")
    url, drop = live.server_database(instance, "browser")
    try:
        live.prepare(url, instance, mango_test_plugins)
        port = live.free_port()
        proc = live.start([live.venv_bin("mango"), "serve", "--port", str(port)],
                          live.server_env(url, instance, mango_test_plugins), port, instance / "server.log")
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            live.stop(proc)
    finally:
        drop()


@pytest.fixture(scope="session")
def browser(live_server: str, chromium):  # noqa: ANN001, ANN201
    return chromium  # the run's one Chromium (mango_core.testing.fixtures.chromium)


@pytest.fixture
def new_page(browser, live_server):  # noqa: ANN001, ANN201
    contexts = []

    def make():  # noqa: ANN202
        ctx = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 768})
        # CI shares two cores with PostgreSQL and the server: a slow page is not a failure
        ctx.set_default_timeout(90_000)
        ctx.set_default_navigation_timeout(90_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()
