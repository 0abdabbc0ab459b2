"""CRM benchmark (issue 3): server time of the customer list, search and card on a large data set.

    .venv/bin/python bench/crm.py [--customers 100000] [--backends sqlite,postgresql]

Builds each backend from scratch (migrations, the test world, then bulk-loaded customers in
location PRG), logs in as a partner administrator and times requests through the WSGI app
in-process (server time, no network). Prints one JSON object per backend with the keys
backend, customers, services, list_p95_ms, search_p95_ms, card_p95_ms (goal: each < 100 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.customers.bulk import bulk_create
from mango_core.customers.demo import fake_records
from mango_core.customers.models import Customer, CustomerContactChannel
from mango_core.db.migrations import upgrade_all
from mango_core.services.bulk import bulk_services, customers_without_services
from mango_core.services.demo import load_catalog
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import Location
from mango_core.testing.fixtures import PASSWORD, build_world, csrf_token, reset_database

DEFAULT_PG = os.environ.get("MANGO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/mango_bench")


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2)


def timed(client, path: str, expect=(200, 302)) -> float:  # noqa: ANN001
    start = time.perf_counter()
    resp = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert resp.status_code in expect, (path, resp.status_code)
    return elapsed


def prepare(url: str, count: int, tmp: Path):  # noqa: ANN201
    reset_database(url)
    app = create_app(settings=load_settings({"database_url": url, "plugins": []}, instance_path=tmp))
    mango = app.extensions["mango"]
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)
    with mango.db.session() as s:
        world = build_world(s, mango)
        s.commit()
        loc_id, email = world.loc_a.id, world.admin_a.email
        start = time.perf_counter()
        with location_scope(loc_id):
            bulk_create(s, fake_records(count, seed=1), progress=lambda n: s.commit() if n % 10000 == 0 else None)
        s.commit()
        print(f"  loaded {count} customers in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        start = time.perf_counter()
        services = load_services(s, loc_id, world.loc_a2.id)
        s.commit()
        print(f"  loaded {services} services in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if mango.db.dialect == "postgresql":
        with mango.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return app, loc_id, email


def load_services(session, loc_id: int, sibling_id: int) -> int:  # noqa: ANN001
    """1.5 services per customer on average, through the same bulk loader as ``mango demo --customers``."""
    load_catalog(session, loc_id, [loc_id, sibling_id])
    with location_scope(loc_id):
        return bulk_services(session, customers_without_services(session), per_customer=lambda i: 1 + i % 2)


def measure(app, loc_id: int, email: str, rounds: int) -> dict:  # noqa: ANN001
    mango = app.extensions["mango"]
    client = app.test_client()
    resp = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    resp = client.post("/location", data={"location_id": loc_id, "csrf_token": csrf_token(client, "/")})
    assert resp.status_code == 302
    with mango.db.session() as s, location_scope(loc_id):
        ids = list(s.scalars(select(Customer.id).order_by(func.random()).limit(rounds)))
        sample = list(s.execute(select(Customer.last_name, Customer.variable_symbol)
                                .where(Customer.kind == "person").order_by(func.random()).limit(rounds)))
        channels = list(s.execute(select(CustomerContactChannel.kind, CustomerContactChannel.value)
                                  .order_by(func.random()).limit(rounds * 2)))
        customers = s.scalar(select(func.count()).select_from(Customer))
        services = s.scalar(select(func.count()).select_from(Service))
    emails = [v for k, v in channels if k == "email"]
    phones = [v for k, v in channels if k == "phone"]
    for path in ("/customers/", f"/customers/{ids[0]}", "/customers/?q=novak"):
        client.get(path)  # warm templates and caches
    lists, searches, cards = [], [], []
    sorts = ("name", "number", "created")
    for i in range(rounds):
        lists.append(timed(client, f"/customers/?sort={sorts[i % 3]}"))
        lists.append(timed(client, "/customers/?state=active"))
        last, vs = sample[i % len(sample)]
        for q in (last, vs, emails[i % len(emails)], phones[i % len(phones)]):
            searches.append(timed(client, f"/customers/?q={q}"))
        cards.append(timed(client, f"/customers/{ids[i % len(ids)]}"))
    return {"customers": customers, "services": services, "list_p95_ms": p95(lists),
            "search_p95_ms": p95(searches), "card_p95_ms": p95(cards)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--measure-only", metavar="URL", help="time an already loaded database again")
    args = parser.parse_args()
    random.seed(1)
    if args.measure_only:
        tmp = Path(tempfile.mkdtemp(prefix="mango-crm-"))
        app = create_app(settings=load_settings({"database_url": args.measure_only, "plugins": []}, instance_path=tmp))
        with app.extensions["mango"].db.session() as s:
            loc_id = s.scalar(select(Location.id).where(Location.code == "PRG"))
        backend = app.extensions["mango"].db.dialect
        print(json.dumps({"backend": backend, **measure(app, loc_id, "admin@alfa.test", args.rounds)}))
        return
    for backend in args.backends.split(","):
        tmp = Path(tempfile.mkdtemp(prefix=f"mango-crm-{backend}-"))
        url = f"sqlite:///{tmp / 'crm.sqlite3'}" if backend == "sqlite" else args.pg_url
        print(f"{backend}: preparing {args.customers} customers…", file=sys.stderr)
        app, loc_id, email = prepare(url, args.customers, tmp)
        print(json.dumps({"backend": backend, **measure(app, loc_id, email, args.rounds)}))
        app.extensions["mango"].db.dispose()


if __name__ == "__main__":
    main()
