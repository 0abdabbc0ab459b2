"""Self-registration, the service: settings, checks that change nothing, enumeration-safe answers,
throttling, confirmation (once), expiry and the purge job."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select, update

from mango_core.auth.models import LoginAttempt
from mango_core.auth.passwords import verify_password
from mango_core.auth.throttle import ThrottleRules
from mango_core.customers import service as customers
from mango_core.customers.models import Customer, CustomerAddress, CustomerContact
from mango_core.db import utcnow
from mango_core.history.models import HistoryEntry
from mango_core.mail.models import MailMessage
from mango_core.scheduler.jobs import JobContext
from mango_core.selfcare import accounts, registration
from mango_core.selfcare.models import Registration, RegistrationSettings, SelfcareAccount, SelfcareSession
from mango_core.tenancy import location_scope
from mango_example import plugin as example_plugin

BASE = "http://portal.test"
PASSWORD = "moje-registracni-heslo"
RULES = ThrottleRules(max_failures_per_account=3, max_failures_per_address=5, window=timedelta(minutes=15))
LINK_RE = re.compile(r"http://portal\.test/selfcare/PRG/register/(?P<token>[A-Za-z0-9_-]{40,})")


def person(**changes) -> dict:
    data = {"kind": "person", "first_name": "Nová", "last_name": "Zákaznice", "email": "Nova.Zakaznice@Example.test",
            "phone": "777 123 456", "street": "Dlouhá 5", "city": "Praha", "postal_code": "110 00",
            "password": PASSWORD, "terms": True, "next": "/selfcare/print/"}
    return {**data, **changes}


def company(**changes) -> dict:
    return person(**{"kind": "company", "company_name": "Tiskárna Nova s.r.o.", "ico": "27082440",
                     "dic": "CZ27082440", "email": "objednavky@tiskarna-nova.test", **changes})


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def prg(ctx, db, world):
    """Registration open in PRG, with terms (version 1)."""
    with location_scope(world.loc_a.id):
        registration.save_settings(db, enabled=True, allow_person=True, allow_company=True,
                                   terms_text="Obchodní podmínky tiskárny.", actor=world.admin_a.id)
        db.commit()
    return world.loc_a


def submit(db, location, data, *, ip="192.0.2.10", rules=RULES):
    with location_scope(location.id):
        outcome = registration.submit(db, location, data, rules=rules, valid_for=timedelta(hours=24), base=BASE,
                                      ip=ip, locale="cs")
        db.commit()
    return outcome


def counts(db, location_id) -> dict:
    with location_scope(location_id):
        return {model.__name__: db.scalar(select(func.count()).select_from(model))
                for model in (Registration, MailMessage, Customer, SelfcareAccount)} | {
            "attempts": db.scalar(select(func.count()).select_from(LoginAttempt)
                                  .where(LoginAttempt.realm == registration.REALM))}


def mails(db, location_id) -> list[MailMessage]:
    with location_scope(location_id):
        return list(db.scalars(select(MailMessage).where(MailMessage.entity == "selfcare_registration")
                               .order_by(MailMessage.id)))


def token_of(message: MailMessage) -> str:
    match = LINK_RE.search(message.text)
    assert match, message.text
    return match.group("token")


# --- settings ------------------------------------------------------------------------------------


def test_registration_is_off_until_staff_allow_it(ctx, db, world):
    before = counts(db, world.loc_a.id)
    with location_scope(world.loc_a.id):
        assert not registration.is_open(db) and registration.settings_of(db) is None
        with pytest.raises(registration.RegistrationClosed):
            registration.submit(db, world.loc_a, person(), rules=RULES, valid_for=timedelta(hours=1), base=BASE)
        db.rollback()
        registration.save_settings(db, enabled=False, allow_person=True, allow_company=True)
        assert not registration.is_open(db)
        db.rollback()
    assert counts(db, world.loc_a.id) == before


def test_settings_version_the_terms_and_keep_each_wording_in_the_history(ctx, db, world):
    with location_scope(world.loc_a.id):
        found = registration.save_settings(db, enabled=True, allow_person=False, allow_company=True,
                                           actor=world.admin_a.id)
        assert found.terms_version == 0 and not found.has_terms
        assert registration.allowed_kinds(found) == ["company"]
        found = registration.save_settings(db, enabled=True, allow_person=False, allow_company=True,
                                           terms_text="Verze A", terms_url="https://isp.test/vop")
        assert found.terms_version == 1 and found.has_terms
        found = registration.save_settings(db, enabled=True, allow_person=True, allow_company=True,
                                           terms_text="Verze A", terms_url="https://isp.test/vop")
        assert found.terms_version == 1  # kinds changed, the terms did not
        found = registration.save_settings(db, enabled=True, allow_person=True, allow_company=True,
                                           terms_text="Verze B", terms_url="https://isp.test/vop")
        assert found.terms_version == 2
        texts = db.scalars(select(HistoryEntry.after).where(HistoryEntry.entity == "selfcare_terms",
                                                            HistoryEntry.field == "terms_text")
                           .order_by(HistoryEntry.id)).all()
        assert texts == ["Verze A", "Verze B"]
        db.commit()
    with location_scope(world.loc_b.id):  # another location: its own settings (none)
        assert registration.settings_of(db) is None


@pytest.mark.parametrize(("changes", "field"), [
    ({"allow_person": False, "allow_company": False}, "allow_person"),
    ({"terms_url": "javascript:alert(1)"}, "terms_url"),
    ({"terms_url": "ftp://isp.test/vop"}, "terms_url"),
    ({"terms_text": "x" * 20001}, "terms_text"),
])
def test_bad_settings_are_refused(ctx, db, world, changes, field):
    args = {"enabled": True, "allow_person": True, "allow_company": True, **changes}
    with location_scope(world.loc_a.id):
        with pytest.raises(registration.RegistrationError) as err:
            registration.save_settings(db, **args)
        assert err.value.field == field
        db.rollback()
        assert registration.settings_of(db) is None


# --- submitting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "field"), [
    (person(last_name=""), "last_name"),
    (person(email="not-an-email"), "email"),
    (person(password="short"), "password"),
    (person(terms=False), "terms"),
    (person(postal_code="1100"), "postal_code"),
    (person(street=""), "street"),
    (person(kind="robot"), "kind"),
    (person(ico="27082441"), "ico"),  # a wrong check digit
    (person(dic="CZ1234567"), "dic"),
    (company(ico=""), "ico"),
    (company(company_name=""), "company_name"),
    (company(dic="CZ27082441"), "dic"),
    (person(first_name="x" * 101), "first_name"),
])
def test_bad_input_changes_nothing(prg, db, data, field):
    before = counts(db, prg.id)
    with location_scope(prg.id):
        with pytest.raises(registration.RegistrationError) as err:
            registration.submit(db, prg, data, rules=RULES, valid_for=timedelta(hours=1), base=BASE, ip="192.0.2.1")
        db.rollback()
    assert err.value.field == field
    assert counts(db, prg.id) == before


def test_a_kind_the_location_does_not_allow_is_refused(ctx, db, world):
    with location_scope(world.loc_a.id):
        registration.save_settings(db, enabled=True, allow_person=False, allow_company=True)
        db.commit()
    with pytest.raises(registration.RegistrationError) as err:
        submit(db, world.loc_a, person())
    db.rollback()
    assert err.value.field == "kind"
    assert submit(db, world.loc_a, company()) is registration.Outcome.MAILED


def test_submitting_mails_a_link_and_keeps_only_hashes(prg, db):
    assert submit(db, prg, person()) is registration.Outcome.MAILED
    [message] = mails(db, prg.id)
    assert message.recipients == ["nova.zakaznice@example.test"]
    assert message.subject == "Potvrďte svou registraci do zákaznického portálu Alfa Net s.r.o."
    token = token_of(message)
    with location_scope(prg.id):
        found = db.scalar(select(Registration))
        assert found.token_hash == accounts.hash_token(token) and token not in found.token_hash
        assert found.password_hash != PASSWORD and verify_password(found.password_hash, PASSWORD)
        assert (found.email, found.postal_code, found.phone) == ("nova.zakaznice@example.test", "11000",
                                                                "+420777123456")
        assert found.terms_version == 1 and found.terms_accepted_at is not None
        assert found.next_path == "/selfcare/print/" and found.confirmed_at is None and found.customer_id is None
        assert found.expires_at - found.created_at == timedelta(hours=24)
        assert db.scalar(select(func.count()).select_from(Customer)) == 0  # nothing until confirmed


def test_a_known_email_gets_the_same_answer_and_a_reset_mail(prg, db, portal):
    assert submit(db, prg, person(email=portal.email.upper())) is registration.Outcome.MAILED
    [message] = mails(db, prg.id)
    assert message.recipients == [portal.email]
    assert "http://portal.test/selfcare/PRG/reset" in message.text and not LINK_RE.search(message.text)
    with location_scope(prg.id):
        assert db.scalar(select(func.count()).select_from(Registration)) == 0


def test_a_customer_of_ours_without_an_account_gets_an_invitation_not_a_second_record(prg, db):
    with location_scope(prg.id):
        known = customers.create_customer(db, kind="person", first_name="Eva", last_name="Stará")
        customers.add_contact(db, known, name="Eva Stará", roles=["owner"], emails=["eva.stara@example.test"])
        db.commit()
        before = counts(db, prg.id)
    assert submit(db, prg, person(email="Eva.Stara@example.test")) is registration.Outcome.MAILED
    after = counts(db, prg.id)
    assert (after["Customer"], after["Registration"]) == (before["Customer"], 0)
    with location_scope(prg.id):
        account = db.scalar(select(SelfcareAccount).where(SelfcareAccount.customer_id == known.id))
        [invitation] = db.scalars(select(MailMessage).where(MailMessage.entity == "selfcare_account",
                                                            MailMessage.entity_id == account.id)).all()
    assert account.email == "eva.stara@example.test" and account.invited_at is not None
    assert invitation.recipients == ["eva.stara@example.test"] and "/selfcare/PRG/" in invitation.text
    assert not mails(db, prg.id)  # no confirmation link: nothing waits to become a new customer


def test_a_newer_registration_ends_the_older_link(prg, db):
    submit(db, prg, person())
    submit(db, prg, person(first_name="Nova"))
    first, second = (token_of(m) for m in mails(db, prg.id))
    with location_scope(prg.id):
        assert registration.find(db, first) is None
        assert registration.find(db, second).first_name == "Nova"


def test_submissions_are_throttled_per_email_and_per_address(prg, db):
    for _ in range(RULES.max_failures_per_account):
        assert submit(db, prg, person(), ip="192.0.2.20") is registration.Outcome.MAILED
    sent = len(mails(db, prg.id))
    assert submit(db, prg, person(), ip="192.0.2.21") is registration.Outcome.THROTTLED  # another address, same e-mail
    assert len(mails(db, prg.id)) == sent
    for n in range(RULES.max_failures_per_address - RULES.max_failures_per_account):
        assert submit(db, prg, person(email=f"jina{n}@example.test"), ip="192.0.2.20") is registration.Outcome.MAILED
    assert submit(db, prg, person(email="dalsi@example.test"), ip="192.0.2.20") is registration.Outcome.THROTTLED
    assert submit(db, prg, person(email="dalsi@example.test"), ip="192.0.2.99") is registration.Outcome.MAILED
    # a known e-mail is throttled alike: the answer does not tell accounts apart
    with location_scope(prg.id):
        assert db.scalar(select(func.count()).select_from(Customer)) == 0


# --- confirming ----------------------------------------------------------------------------------


def confirm(db, location, token):
    with location_scope(location.id):
        done = registration.confirm(db, location, token, ip="192.0.2.30", user_agent="pytest")
        db.commit()
    return done


def test_confirming_creates_customer_contact_address_and_account_once(prg, db, portal):
    submit(db, prg, company())
    token = token_of(mails(db, prg.id)[-1])
    example_plugin.CUSTOMER_EVENTS.clear()
    done = confirm(db, prg, token)
    with location_scope(prg.id):
        account = db.get(SelfcareAccount, done.account.id)
        customer = db.get(Customer, account.customer_id)
        assert customer.number == portal.other_number + 1  # the next number of the location
        assert (customer.kind, customer.company_name, customer.ico, customer.dic, customer.state) == (
            "company", "Tiskárna Nova s.r.o.", "27082440", "CZ27082440", "lead")
        contact = db.scalar(select(CustomerContact).where(CustomerContact.customer_id == customer.id))
        assert contact.name == "Nová Zákaznice" and contact.role_owner and contact.role_billing
        assert [c.value for c in contact.emails] == ["objednavky@tiskarna-nova.test"]
        assert [c.value for c in contact.phones] == ["+420777123456"]
        address = db.scalar(select(CustomerAddress).where(CustomerAddress.customer_id == customer.id))
        assert (address.street, address.city, address.postal_code) == ("Dlouhá 5", "Praha", "11000")
        assert account.email == "objednavky@tiskarna-nova.test" and verify_password(account.password_hash, PASSWORD)
        assert account.registered_at is not None and account.terms_version == 1
        assert account.terms_accepted_at is not None and account.invited_at is None
        session_row = db.get(SelfcareSession, done.record.id)
        assert session_row.account_id == account.id and session_row.ended_at is None
        assert session_row.token_hash == accounts.hash_token(done.token)
        assert done.next_path == "/selfcare/print/"
        entries = db.scalars(select(HistoryEntry).where(HistoryEntry.customer_id == customer.id)).all()
        registered = [e for e in entries if e.action == "selfcare_registered"]
        assert {(e.field, e.after) for e in registered} == {("selfcare_access", "true"), ("terms_version", "1")}
        assert all(e.reason == "registrován v Selfcare" for e in registered)
        assert any(e.action == "created" and e.reason == "registrován v Selfcare" for e in entries)
        found = db.scalar(select(Registration))
        assert found.customer_id == customer.id and found.confirmed_at is not None
        assert (found.email, found.password_hash, found.last_name, found.street) == ("", None, None, None)
    assert [e["event"] for e in example_plugin.CUSTOMER_EVENTS][:1] == ["created"]

    # a second click: nothing more
    before = counts(db, prg.id)
    with location_scope(prg.id), pytest.raises(registration.AlreadyConfirmed):
        registration.confirm(db, prg, token)
    db.rollback()
    assert counts(db, prg.id) == before


def test_an_expired_link_creates_nothing_and_the_purge_is_idempotent(prg, db, world):
    submit(db, prg, person())
    submit(db, prg, person(email="druha@example.test"))
    expired, kept = (token_of(m) for m in mails(db, prg.id))
    with location_scope(world.loc_b.id):
        registration.save_settings(db, enabled=True, allow_person=True, allow_company=False)
        db.commit()
    submit(db, world.loc_b, person(), ip="192.0.2.77")
    with location_scope(prg.id):
        db.execute(update(Registration).where(Registration.email == "nova.zakaznice@example.test")
                   .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
        assert registration.find(db, expired) is None
        with pytest.raises(accounts.InvalidLink):
            registration.confirm(db, prg, expired)
        db.rollback()
        assert db.scalar(select(func.count()).select_from(Customer)) == 0
    job = registration.PURGE_REGISTRATIONS
    assert job.id in current_app.extensions["mango"].jobs  # the scheduler runs it
    with location_scope(prg.id):
        assert job.func(JobContext(session=db, location_id=prg.id, job_id=job.id, settings={})).startswith("1 ")
        db.commit()
        assert registration.purge(db) == 0  # again: nothing more
        assert registration.find(db, kept) is not None
    with location_scope(world.loc_b.id):  # another location's registration is not touched
        assert db.scalar(select(func.count()).select_from(Registration)) == 1
    # a confirmed registration is deleted too once expired (its personal data went at confirmation)
    confirm(db, prg, kept)
    with location_scope(prg.id):
        assert registration.purge(db, utcnow() + timedelta(days=2)) == 1
        db.commit()
        assert db.scalar(select(func.count()).select_from(SelfcareAccount)) == 1  # the account stays


def test_an_email_that_got_an_account_meanwhile_is_not_registered_twice(prg, db, portal):
    submit(db, prg, person(email="pozdni@example.test"))
    token = token_of(mails(db, prg.id)[-1])
    with location_scope(prg.id):
        db.execute(update(SelfcareAccount).where(SelfcareAccount.id == portal.account_id)
                   .values(email="pozdni@example.test"))
        db.commit()
    before = counts(db, prg.id)
    with location_scope(prg.id), pytest.raises(registration.RegistrationError) as err:
        registration.confirm(db, prg, token)
    db.rollback()
    assert err.value.field == "email" and counts(db, prg.id) == before
    with location_scope(prg.id):
        assert registration.find(db, token).confirmed_at is None  # the claim was rolled back too


def test_closing_registration_stops_waiting_links(prg, db):
    submit(db, prg, person())
    token = token_of(mails(db, prg.id)[-1])
    with location_scope(prg.id):
        registration.save_settings(db, enabled=False, allow_person=True, allow_company=True)
        db.commit()
        with pytest.raises(registration.RegistrationClosed):
            registration.confirm(db, prg, token)
        db.rollback()
        assert db.scalar(select(func.count()).select_from(Customer)) == 0


@pytest.mark.parametrize(("target", "expected"), [
    ("/selfcare/print/", "/selfcare/print/"),
    ("/selfcare/print/configure/3?q=1", "/selfcare/print/configure/3?q=1"),
    ("//evil.test/selfcare/", None),
    ("https://evil.test/selfcare/", None),
    ("/selfcare//evil.test", None),
    ("/selfcare/../admin", None),
    ("/customers/1", None),
    ("/selfcare/\\evil", None),
    ("/selfcare/x\r\nSet-Cookie: a=b", None),
    ("/selfcare/" + "a" * 300, None),
    (None, None),
])
def test_only_local_portal_paths_are_returned_to(target, expected):
    assert registration.safe_next(target) == expected


def test_the_settings_row_is_per_location(ctx, db, world):
    with location_scope(world.loc_a.id):
        registration.save_settings(db, enabled=True, allow_person=True, allow_company=True)
        db.commit()
    with location_scope(world.loc_a2.id):
        assert not registration.is_open(db)
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(RegistrationSettings)) == 1
