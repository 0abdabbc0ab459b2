"""pytest fixtures for Mango and its plugins (loaded with ``-p mango_core.testing.fixtures``).

* The database is SQLite in a temporary folder, or PostgreSQL when
  ``MANGO_TEST_DATABASE_URL`` is set; the schema is built once per run by the real migrations.
* Each test runs inside a transaction that is rolled back afterwards; the application's own
  sessions join it through savepoints, so requests see the test's data and commit freely.
* ``world`` gives two partners with a location each, users with roles and a known password.
* Plugins under test are listed by the ``mango_test_plugins`` fixture (override it in a
  conftest); installed plugins are never loaded by accident.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mango_core.app import create_app
from mango_core.auth import service as auth_service
from mango_core.auth.models import Role, RoleAssignment, RolePermission, User
from mango_core.auth.passwords import hash_password
from mango_core.config import load_settings
from mango_core.db.migrations import upgrade_all
from mango_core.kernel import Mango
from mango_core.tenancy.context import operator_scope
from mango_core.tenancy.guard import GuardedSession
from mango_core.tenancy.models import Licence, Location, LocationModule, Partner

PASSWORD = "correct-horse-battery"


def test_database_url(tmp_dir: Path) -> str:
    return os.environ.get("MANGO_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.sqlite3'}"


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    """Drop the PostgreSQL database of ``url`` (connections and all) and, unless ``drop_only``, create it empty."""
    address = make_url(url)
    admin = create_engine(address.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{address.database}" WITH (FORCE)'))
            if not drop_only:
                conn.execute(text(f'CREATE DATABASE "{address.database}"'))
    finally:
        admin.dispose()


_WORKER_DATABASE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n 2``), each worker gets a PostgreSQL database of its own.

    The worker's ``MANGO_TEST_DATABASE_URL`` names ``<database>_<worker>`` (created empty here, dropped
    when the worker ends), so everything that derives a database from it — the session's schema,
    server processes' databases (``live.server_database``), child processes — stays apart from the
    other workers'. SQLite needs nothing: every worker has its own temporary folder.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = os.environ.get("MANGO_TEST_DATABASE_URL", "")
    if not worker or not base.startswith("postgresql"):
        return
    url = make_url(base)
    own = url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)
    recreate_database(own)
    os.environ["MANGO_TEST_DATABASE_URL"] = own
    config.stash[_WORKER_DATABASE] = own


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_WORKER_DATABASE, None)
    if own:
        recreate_database(own, drop_only=True)


def reset_database(url: str) -> None:
    """Empty the test database (PostgreSQL: drop and recreate the public schema)."""
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


CHROMIUM = os.environ.get("MANGO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class SharedChromium:
    """The run's Chromium, launched again if it went away (a renderer crash on a loaded machine
    closes the browser for every later test otherwise); attributes are the live browser's."""

    def __init__(self, playwright) -> None:  # noqa: ANN001
        self._playwright = playwright
        self._browser = None

    def _live(self):  # noqa: ANN202
        if self._browser is None or not self._browser.is_connected():
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                             args=CHROMIUM_ARGS)
        return self._browser

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._live(), name)

    def shutdown(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            self._browser.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One headless Chromium (Playwright) for every browser test of the run, the core's and the plugins'.

    Playwright's sync API keeps its event loop running in the main thread for as long as it lives,
    so a second ``sync_playwright()`` later in the same run fails ("using Playwright Sync API inside
    the asyncio loop"): every browser test shares this one.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        shared = SharedChromium(p)
        yield shared
        shared.shutdown()


@pytest.fixture(scope="session")
def mango_test_plugins() -> list[str]:
    """Plugins the suite loads; the repository's conftest overrides this."""
    return []


@pytest.fixture(scope="session")
def mango_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app(mango_test_plugins: list[str], mango_instance: Path) -> Flask:
    url = test_database_url(mango_instance)
    reset_database(url)
    settings = load_settings(
        {"database_url": url, "plugins": mango_test_plugins, "testing": True},
        instance_path=mango_instance,
    )
    application = create_app(settings=settings)
    mango: Mango = application.extensions["mango"]
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _line: None)
    return application


@pytest.fixture(scope="session")
def mango(app: Flask) -> Mango:
    return app.extensions["mango"]


@pytest.fixture
def db(mango: Mango) -> Iterator[Session]:
    """A session whose work, and the application's, is rolled back after the test."""
    connection = mango.db.engine.connect()
    outer = connection.begin()
    original = mango.db.Session
    mango.db.Session = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                                    class_=GuardedSession)
    session = mango.db.Session()
    try:
        yield session
    finally:
        session.close()
        mango.db.Session = original
        outer.rollback()
        connection.close()


@dataclass
class World:
    """Two partners, a location each, and their staff."""

    partner_a: Partner
    partner_b: Partner
    loc_a: Location
    loc_a2: Location
    loc_b: Location
    operator: User
    admin_a: User  # every permission in loc_a and loc_a2
    clerk_a: User  # only core.jobs.view in loc_a
    admin_b: User  # every permission in loc_b
    admin_role_a: Role
    clerk_role_a: Role
    password: str = PASSWORD


def _partner(session: Session, code: str, name: str, ico: str) -> Partner:
    partner = Partner(code=code, name=name, company_name=f"{name} s.r.o.", ico=ico)
    session.add(partner)
    session.flush()
    return partner


def _location(session: Session, partner: Partner, code: str, name: str, city: str) -> Location:
    location = Location(partner=partner, code=code, name=name, company_name=partner.company_name,
                        ico=partner.ico, vat_payer=True, street="Hlavní 1", city=city, postal_code="11000")
    session.add(location)
    session.flush()
    return location


def _role(session: Session, partner: Partner | None, name: str, permissions: set[str]) -> Role:
    role = Role(partner_id=partner.id if partner else None, name=name)
    role.permissions = [RolePermission(permission=p) for p in sorted(permissions)]
    session.add(role)
    session.flush()
    return role


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def build_world(session: Session, mango: Mango) -> World:
    with operator_scope():
        a = _partner(session, "ALFA", "Alfa Net", "27082440")
        b = _partner(session, "BETA", "Beta Wifi", "25596641")
        loc_a = _location(session, a, "PRG", "Praha", "Praha")
        loc_a2 = _location(session, a, "KLA", "Kladno", "Kladno")
        loc_b = _location(session, b, "BRN", "Brno", "Brno")
        for partner in (a, b):
            for module in mango.licensed_plugins():
                session.add(Licence(partner=partner, module=module, valid_from=date(2020, 1, 1)))
        for module in mango.licensed_plugins():
            session.add(LocationModule(location=loc_a, module=module))
        everything = set(mango.permissions) - {"core.partners.manage"}
        admin_role_a = _role(session, a, "Administrátor", everything)
        clerk_role_a = _role(session, a, "Referent", {"core.jobs.view"})
        admin_role_b = _role(session, b, "Administrátor", everything)

        def user(email: str, name: str, partner: Partner | None, **kw) -> User:
            created = auth_service.create_user(session, email=email, name=name, password=None,
                                               partner_id=partner.id if partner else None, **kw)
            created.password_hash = _password_hash()  # Argon2 is slow on purpose: hash once per run
            return created

        operator = user("operator@mango.test", "Olga Operátorová", None, is_operator=True)
        admin_a = user("admin@alfa.test", "Adam Alfa", a)
        clerk_a = user("clerk@alfa.test", "Klára Alfa", a)
        admin_b = user("admin@beta.test", "Bára Beta", b)
        session.add_all([
            RoleAssignment(user=admin_a, role=admin_role_a, location_id=loc_a.id),
            RoleAssignment(user=admin_a, role=admin_role_a, location_id=loc_a2.id),
            RoleAssignment(user=clerk_a, role=clerk_role_a, location_id=loc_a.id),
            RoleAssignment(user=admin_b, role=admin_role_b, location_id=loc_b.id),
        ])
        session.flush()
    return World(a, b, loc_a, loc_a2, loc_b, operator, admin_a, clerk_a, admin_b, admin_role_a, clerk_role_a)


@pytest.fixture
def world(db: Session, mango: Mango) -> World:
    world = build_world(db, mango)
    db.commit()
    return world


@pytest.fixture
def client(app: Flask, db: Session) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, email: str, password: str = PASSWORD):  # noqa: ANN201
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def post(client: FlaskClient, path: str, data: dict | None = None, *, token_from: str = "/", **kw):  # noqa: ANN201
    """POST a form with a valid CSRF token taken from a page the client can see."""
    payload = {"csrf_token": csrf_token(client, token_from), **(data or {})}
    return client.post(path, data=payload, **kw)
