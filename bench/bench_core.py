"""Core benchmarks; prints JSON. Usage: .venv/bin/python bench/bench_core.py [--database-url URL]

Measures the costs every request pays: the tenant guard on ORM queries, an authenticated page
(session lookup, permissions, menu, template), and a login (Argon2id on purpose slow).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.db.migrations import upgrade_all
from mango_core.scheduler.models import JobRun
from mango_core.tenancy.context import location_scope
from mango_core.testing.fixtures import PASSWORD, build_world, csrf_token, reset_database


def timed(n: int, fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--plugins", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mango-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    reset_database(url)
    plugins = [p for p in args.plugins.split(",") if p]
    settings = load_settings({"database_url": url, "plugins": plugins}, instance_path=tmp)
    app = create_app(settings=settings)
    mango = app.extensions["mango"]
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)
    with mango.db.session() as s:
        world = build_world(s, mango)
        s.commit()
        loc_a, loc_b = world.loc_a.id, world.loc_b.id
    with mango.db.session() as s:
        for loc in (loc_a, loc_b):
            with location_scope(loc):
                s.add_all(JobRun(job_id="bench:x", result=str(i)) for i in range(1000))
                s.flush()
        s.commit()

    results: dict[str, object] = {"database": mango.db.dialect}
    with mango.db.session() as s, location_scope(loc_a):
        results["guarded_select_1000_rows_ms"] = round(
            timed(50, lambda: s.scalars(select(JobRun)).all()) * 1000, 3)
        assert len(s.scalars(select(JobRun)).all()) == 1000  # the other location's rows are invisible

    client = app.test_client()
    token = csrf_token(client)
    login = lambda: client.post("/login", data={"email": world.admin_a.email, "password": PASSWORD,  # noqa: E731
                                                "csrf_token": token})
    results["login_ms"] = round(timed(5, login) * 1000, 1)
    login()
    page = lambda: client.get("/")  # noqa: E731
    assert page().status_code == 200
    per_request = timed(200, page)
    results["home_page_ms"] = round(per_request * 1000, 2)
    results["home_pages_per_second_one_thread"] = round(1 / per_request, 1)
    print(json.dumps(results, indent=2))
    mango.db.dispose()


if __name__ == "__main__":
    main()
