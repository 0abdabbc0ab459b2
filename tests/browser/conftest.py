"""A real `mango serve` process and a headless Chromium driven by Playwright.

The server gets its own database (a SQLite file, or a fresh PostgreSQL database beside
MANGO_TEST_DATABASE_URL's), migrated and filled with the same `world` as the unit tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mango_core.config import load_settings
from mango_core.db.migrations import upgrade_all
from mango_core.kernel import Mango
from mango_core.testing.fixtures import build_world

CHROMIUM = os.environ.get("MANGO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_database(tmp: Path) -> tuple[str, callable]:
    base = os.environ.get("MANGO_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp / 'browser.sqlite3'}", lambda: None
    url = make_url(base)
    name = f"{url.database}_browser"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    instance = tmp_path_factory.mktemp("live")
    url, drop = _server_database(instance)
    settings = load_settings({"database_url": url, "plugins": mango_test_plugins}, instance_path=instance)
    mango = Mango.start(settings)
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)
    with mango.db.session() as session:
        build_world(session, mango)
        session.commit()
    mango.db.dispose()

    port = _free_port()
    env = {**os.environ, "MANGO_DATABASE_URL": url, "MANGO_INSTANCE_PATH": str(instance),
           "MANGO_PLUGINS": ",".join(mango_test_plugins)}
    env.pop("MANGO_ENV", None)
    mango_bin = shutil.which("mango", path=str(Path(sys.executable).parent)) or "mango"
    log = (instance / "server.log").open("w")
    proc = subprocess.Popen([mango_bin, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mango serve did not start: {(instance / 'server.log').read_text()}") from None
                time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        drop()


@pytest.fixture(scope="session")
def browser(live_server: str):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):  # noqa: ANN001, ANN201
    contexts = []

    def make():  # noqa: ANN202
        ctx = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 768})
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()
