"""Real server processes for tests: a migrated database with the test world, and a server
(`mango serve` or gunicorn) started as a subprocess and waited for on /healthz."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from mango_core.config import load_settings
from mango_core.db.migrations import upgrade_all
from mango_core.kernel import Mango
from mango_core.testing.fixtures import build_world, recreate_database

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_database(folder: Path, suffix: str) -> tuple[str, Callable[[], None]]:
    """A fresh database for a server process: SQLite in ``folder``, or a new PostgreSQL database
    named after MANGO_TEST_DATABASE_URL's plus ``suffix``. Returns its URL and a drop function."""
    base = os.environ.get("MANGO_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{folder / f'{suffix}.sqlite3'}", lambda: None
    url = make_url(base)
    own = url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)
    recreate_database(own)
    return own, functools.partial(recreate_database, own, drop_only=True)


def prepare(url: str, instance: Path, plugins: list[str]) -> None:
    """Migrate the database and load the test world (the same users and passwords as `world`),
    the demo catalogue (classes Internet, VoIP, IPTV and their products) of partner ALFA, and in
    PRG what billing needs: a DIČ, a bank account and a dozen demo customers with services."""
    from mango_core.customers.demo import load_customers
    from mango_core.services.demo import load_catalog, load_services
    from mango_core.tenancy import operator_scope
    from mango_core.tenancy.service import add_bank_account

    mango = Mango.start(load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)
    with mango.db.session() as session:
        world = build_world(session, mango)
        prg = world.loc_a.id
        load_catalog(session, prg, [prg, world.loc_a2.id])
        with operator_scope():
            world.loc_a.dic = "CZ27082440"
            session.commit()
        add_bank_account(session, prg, label="Provozní účet", account="2400000009/2010", is_default=True)
        session.commit()
        load_customers(session, prg, 12)
        load_services(session, prg)
        session.commit()
    mango.db.dispose()


def server_env(url: str, instance: Path, plugins: list[str]) -> dict[str, str]:
    env = {**os.environ, "MANGO_DATABASE_URL": url, "MANGO_INSTANCE_PATH": str(instance),
           "MANGO_PLUGINS": ",".join(plugins)}
    env.pop("MANGO_ENV", None)
    return env


def venv_bin(name: str) -> str:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def start(argv: list[str], env: dict[str, str], port: int, log: Path, timeout: float = 30) -> subprocess.Popen:
    """Start a server and wait until GET /healthz answers 200."""
    out = log.open("w")
    proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{argv[0]} did not start:\n{log.read_text()}") from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ReadyProcess:
    """``python -m MODULE --port 0 ARGS…``, a simulator that prints ``READY <port>`` once it listens."""

    def __init__(self, module: str, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *args],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            stop(self.process)
            self.process.stdout.close()
            raise RuntimeError(f"{module} did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        stop(self.process)
        self.process.stdout.close()


@contextmanager
def served(instance: Path, suffix: str, plugins: list[str], setup: Callable[[str], T] | None = None,
           *, timeout: float = 30) -> Iterator[tuple[str, dict[str, str], T | None]]:
    """`mango serve` on a free port over a fresh database with the test world (:func:`prepare`) and
    what ``setup(url)`` adds; yields (base URL, the server's environment, what ``setup`` returned),
    then stops the server and drops the database. Settings go in ``instance/mango.toml`` first."""
    url, drop = server_database(instance, suffix)
    try:
        prepare(url, instance, plugins)
        extra = setup(url) if setup is not None else None
        env = server_env(url, instance, plugins)
        port = free_port()
        proc = start([venv_bin("mango"), "serve", "--port", str(port)], env, port, instance / f"{suffix}.log",
                     timeout)
        try:
            yield f"http://127.0.0.1:{port}", env, extra
        finally:
            stop(proc)
    finally:
        drop()


@contextmanager
def contexts(chromium: Any, base_url: str, timeout_ms: int = 90_000) -> Iterator[Callable[..., Any]]:
    """``make(**options)`` opens a browser context on ``base_url`` (a 1366 px screen, patient
    timeouts for a loaded machine); all of them are closed afterwards."""
    opened: list[Any] = []

    def make(**options: Any) -> Any:
        ctx = chromium.new_context(base_url=base_url, viewport={"width": 1366, "height": 900}, **options)
        ctx.set_default_timeout(timeout_ms)
        ctx.set_default_navigation_timeout(timeout_ms)
        opened.append(ctx)
        return ctx

    try:
        yield make
    finally:
        for ctx in opened:
            ctx.close()
