"""Demo customers for ``mango demo``: realistic Czech people and companies (Faker, cs_CZ).

Everything goes through the customer service, so demo customers have numbers, search keywords
and history like real ones. Idempotent per location: a location that has customers already is
left alone. Seeded per location, so every fresh demo looks the same.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from faker import Faker
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.cz import dic as cz_dic

from mango_core.customers import service
from mango_core.customers.models import Customer
from mango_core.customers.normalize import fold
from mango_core.tenancy import location_scope

TAGS = ("VIP", "Dlužník", "Firemní", "Senior", "Nový")
DOMAINS = ("seznam.cz", "email.cz", "gmail.com", "centrum.cz", "post.cz")
BASES = ("smlouva", "smlouva a oprávněný zájem")


def valid_ico(rng: random.Random) -> str:
    """A random IČO with a correct check digit (7 digits + mod-11 check digit)."""
    while True:
        base = f"{rng.randint(1, 8)}{rng.randint(0, 999999):06d}"  # 9… cannot be a DIČ
        check = cz_dic.calc_check_digit_legal(base)
        if check.isdigit():
            return base + check


def _phone(rng: random.Random) -> str:
    return f"+420 {rng.choice('67')}{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"


def _email(first: str, last: str, rng: random.Random) -> str:
    local = f"{fold(first)}.{fold(last)}".replace(" ", "")
    return f"{local}{rng.randint(1, 99) if rng.random() < 0.3 else ''}@{rng.choice(DOMAINS)}"


def _address(fake: Faker) -> dict:
    return {"street": fake.street_address(), "city": fake.city(), "postal_code": fake.postcode()}


def _person(session: Session, fake: Faker, rng: random.Random) -> Customer:
    female = rng.random() < 0.5
    first = fake.first_name_female() if female else fake.first_name_male()
    last = fake.last_name_female() if female else fake.last_name_male()
    born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))
    customer = service.create_customer(
        session, kind="person", first_name=first, last_name=last, birth_date=born,
        marketing_consent=rng.random() < 0.4, processing_basis=rng.choice(BASES),
    )
    service.add_contact(session, customer, name=f"{first} {last}", roles=["billing", "technical", "owner"],
                        emails=[_email(first, last, rng)], phones=[_phone(rng)])
    service.add_address(session, customer, kind="permanent", **_address(fake))
    if rng.random() < 0.5:
        service.add_address(session, customer, kind="service_place", **_address(fake),
                            latitude=round(rng.uniform(48.6, 51.0), 5), longitude=round(rng.uniform(12.1, 18.8), 5))
    return customer


def _company(session: Session, fake: Faker, rng: random.Random) -> Customer:
    ico = valid_ico(rng)
    customer = service.create_customer(
        session, kind="company", company_name=fake.company(), ico=ico,
        dic=f"CZ{ico}" if rng.random() < 0.7 else None, processing_basis="smlouva",
    )
    for roles in (["owner", "billing"], ["technical"]):
        first, last = fake.first_name(), fake.last_name()
        service.add_contact(session, customer, name=f"{first} {last}", roles=roles,
                            emails=[_email(first, last, rng)], phones=[_phone(rng)])
    service.add_address(session, customer, kind="permanent", **_address(fake))
    service.add_address(session, customer, kind="billing", **_address(fake))
    return customer


def load_customers(session: Session, location_id: int, count: int) -> int:
    """Create ``count`` customers in a location that has none yet; returns how many were made."""
    with location_scope(location_id):
        if session.scalar(select(func.count()).select_from(Customer)):
            return 0
        fake = Faker("cs_CZ")
        fake.seed_instance(location_id)
        rng = random.Random(location_id)
        made: list[Customer] = []
        for i in range(count):
            customer = _company(session, fake, rng) if i % 6 == 0 else _person(session, fake, rng)
            made.append(customer)
            roll = rng.random()
            if roll < 0.75:
                service.change_state(session, customer, "active", on=date.today() - timedelta(days=rng.randint(1, 2000)))
            if roll < 0.1:
                service.change_state(session, customer, "former", on=date.today() - timedelta(days=rng.randint(0, 30)))
            if rng.random() < 0.2:
                service.add_tag(session, customer, rng.choice(TAGS))
            if rng.random() < 0.1:
                service.add_note(session, customer, "Volal kvůli rychlosti připojení, doporučen vyšší tarif.")
        companies = [c for c in made if c.kind == "company"]
        for parent in companies[: len(companies) // 3]:
            for _ in range(2):
                branch = _company(session, fake, rng)
                service.set_parent(session, branch, parent.id, bill_to_parent=rng.random() < 0.5)
                service.change_state(session, branch, "active")
                made.append(branch)
        session.commit()
        return len(made)


def fake_records(count: int, seed: int = 0):  # noqa: ANN201
    """``count`` realistic records for :func:`mango_core.customers.bulk.bulk_create` (a generator).

    Faker is slow for 100,000 names, so names, streets and cities come from pools drawn once.
    """
    fake = Faker("cs_CZ")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    females = [(fake.first_name_female(), fake.last_name_female()) for _ in range(400)]
    males = [(fake.first_name_male(), fake.last_name_male()) for _ in range(400)]
    companies = [fake.company() for _ in range(300)]
    places = [_address(fake) for _ in range(500)]
    for i in range(count):
        place = dict(rng.choice(places))
        since = date.today() - timedelta(days=rng.randint(1, 3000))
        state = "active" if rng.random() < 0.8 else rng.choice(("lead", "former"))
        if i % 6 == 0:
            ico = valid_ico(rng)
            first, last = rng.choice(males)
            yield {"customer": {"kind": "company", "company_name": rng.choice(companies), "ico": ico,
                                "dic": f"CZ{ico}", "processing_basis": "smlouva"},
                   "state": state, "since": since,
                   "contacts": [{"name": f"{first} {last}", "roles": ["owner", "billing", "technical"],
                                 "emails": [_email(first, last, rng)], "phones": [_phone(rng)]}],
                   "addresses": [{"kind": "permanent", **place}]}
        else:
            first, last = rng.choice(females if rng.random() < 0.5 else males)
            yield {"customer": {"kind": "person", "first_name": first, "last_name": last,
                                "marketing_consent": rng.random() < 0.4, "processing_basis": rng.choice(BASES)},
                   "state": state, "since": since,
                   "contacts": [{"name": f"{first} {last}", "roles": ["owner", "billing", "technical"],
                                 "emails": [_email(first, last, rng)], "phones": [_phone(rng)]}],
                   "addresses": [{"kind": "permanent", **place}]}
