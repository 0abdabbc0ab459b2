"""Several gunicorn workers share one truth: sessions, the single-session rule and login
throttling live in the database, so whichever worker answers, the result is the same."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from mango_core.testing import live
from mango_core.testing.fixtures import PASSWORD

WORKERS = 3

# Each worker is replaced after this many requests, so a run of requests is answered by several
# fresh processes that share nothing but the database (sequential requests alone may all land on
# one worker, and overlapping writes are no test for SQLite, which takes one writer at a time).
MAX_REQUESTS = 8


class Browser:
    """A cookie-keeping HTTP client, like one browser."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=60) as resp:  # a loaded CI machine is slow
            return resp.status, resp.geturl(), resp.read().decode()

    def login(self, email: str, password: str = PASSWORD) -> tuple[int, str, str]:
        _, _, html = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + "/login", data=data, timeout=60) as resp:
                return resp.status, resp.geturl(), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode()


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory, mango_test_plugins):
    instance = tmp_path_factory.mktemp("gunicorn")
    url, drop = live.server_database(instance, "gunicorn")
    try:
        live.prepare(url, instance, mango_test_plugins)
        port = live.free_port()
        log = instance / "gunicorn.log"
        proc = live.start(
            [live.venv_bin("gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
             "--max-requests", str(MAX_REQUESTS), "--max-requests-jitter", "0",
             "--access-logfile", "-", "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
             "mango_core.app:create_app()"],
            live.server_env(url, instance, mango_test_plugins), port, log,
        )
        try:
            yield f"http://127.0.0.1:{port}", log
        finally:
            live.stop(proc)
    finally:
        drop()


def _workers_serving(log, method: str, path: str) -> Counter:
    pids = Counter()
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] == method and parts[2] == path:
            pids[parts[0]] += 1
    return pids


def test_session_works_on_every_worker(gunicorn):
    base, log = gunicorn
    browser = Browser(base)
    status, final_url, _ = browser.login("admin@alfa.test")
    assert status == 200 and final_url.endswith("/")
    for _ in range(40):
        status, final_url, html = browser.get("/")
        assert status == 200 and final_url.endswith("/") and "Vítejte, Adam Alfa" in html
    assert len(_workers_serving(log, "GET", "/")) >= 2, "all requests went to one worker"


def test_new_login_on_another_worker_ends_the_old_session(gunicorn):
    base, _log = gunicorn
    first, second = Browser(base), Browser(base)
    first.login("admin@beta.test")
    second.login("admin@beta.test")
    for _ in range(5):  # whichever worker answers
        _, final_url, html = first.get("/")
        assert "/login" in final_url
    assert "Vítejte, Bára Beta" in second.get("/")[2]


def test_throttling_is_shared_by_the_workers(gunicorn):
    base, log = gunicorn
    for _ in range(5):  # max_failures_per_account = 5, each attempt from a fresh client
        status, _, html = Browser(base).login("clerk@alfa.test", "wrong-password-123")
        assert status == 200 and "Nesprávný e-mail nebo heslo." in html
    status, _, html = Browser(base).login("clerk@alfa.test")  # right password, still refused
    assert status == 429
    assert "Příliš mnoho neúspěšných pokusů" in html
    assert len(_workers_serving(log, "POST", "/login")) >= 2
