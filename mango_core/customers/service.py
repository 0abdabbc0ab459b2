"""Everything that changes a customer: records, state, structure, contacts, addresses, tags, notes.

Views, the command line, the demo and other modules call these functions; none of them writes
the customer tables itself. Each function checks all its input before it changes anything, so
bad input raises a :class:`CustomerError` (a ``ValueError`` whose message is translated in the
UI) and leaves the data as it was. Each change is written to the history with its author
(``actor``: a user id, or None for the system) and announced to the plugins enabled in the
customer's location (``mango_customer_created`` / ``mango_customer_changed``) before the caller
commits, so a plugin's reaction belongs to the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mango_core import history
from mango_core.customers import search
from mango_core.customers.models import (
    ACTIVE,
    ADDRESS_KINDS,
    COMPANY,
    CONTACT_ROLES,
    EMAIL,
    FORMER,
    KINDS,
    LEAD,
    PERSON,
    PHONE,
    STATES,
    Customer,
    CustomerAddress,
    CustomerContact,
    CustomerContactChannel,
    CustomerNote,
    CustomerTag,
    CustomerTagLink,
)
from mango_core.customers.normalize import (
    fold,
    normalize_birth_number,
    normalize_email,
    normalize_phone,
    phone_search_value,
)
from mango_core.db import sequences, utcnow
from mango_core.tenancy import validators as v
from mango_core.tenancy.validators import N_, InvalidValue

NUMBER_SEQUENCE = "customer"
# Fields of the customer record edited by create/update (state, parent and custom fields have
# their own functions, because they have their own rules).
FIELDS = ("kind", "first_name", "last_name", "company_name", "ico", "dic", "birth_number", "birth_date",
          "variable_symbol", "marketing_consent", "processing_basis", "retain_until", "note")
TRANSITIONS = {LEAD: {ACTIVE, FORMER}, ACTIVE: {FORMER}, FORMER: {ACTIVE}}


class CustomerError(InvalidValue):
    """Bad input or a broken rule; ``field`` names the form field when there is one."""


class NotFound(CustomerError):
    default_message = N_("Customer not found.")


# --- small validators ---------------------------------------------------------------------------


def _text(value: Any, field: str, max_len: int, *, required: bool = False) -> str | None:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise CustomerError(N_("This field is required."), field=field)
    if len(text) > max_len:
        raise CustomerError(N_("At most %(max)d characters."), field=field, max=max_len)
    return text or None


def _normalized(normalizer, value: Any, field: str) -> Any:  # noqa: ANN001
    if value is None or not str(value).strip():
        return None
    try:
        return normalizer(value)
    except InvalidValue as exc:
        raise CustomerError(exc.message, field=exc.field or field, **exc.params) from exc


def _date(value: Any, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise CustomerError(N_("Enter a date as YYYY-MM-DD."), field=field) from exc


def _variable_symbol(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise CustomerError(N_("A variable symbol has at most 10 digits."), field="variable_symbol")
    return text.lstrip("0") or "0"


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """The record's fields checked and normalised; raises on the first bad one."""
    kind = data.get("kind") or PERSON
    if kind not in KINDS:
        raise CustomerError(N_("Choose a person or a company."), field="kind")
    values: dict[str, Any] = {
        "kind": kind,
        "first_name": _text(data.get("first_name"), "first_name", 100),
        "last_name": _text(data.get("last_name"), "last_name", 100, required=kind == PERSON),
        "company_name": _text(data.get("company_name"), "company_name", 200, required=kind == COMPANY),
        "ico": _normalized(v.normalize_ico, data.get("ico"), "ico"),
        "dic": _normalized(v.normalize_dic, data.get("dic"), "dic"),
        "birth_date": _date(data.get("birth_date"), "birth_date"),
        "variable_symbol": _variable_symbol(data.get("variable_symbol")),
        "marketing_consent": bool(data.get("marketing_consent")),
        "processing_basis": _text(data.get("processing_basis"), "processing_basis", 2000),
        "retain_until": _date(data.get("retain_until"), "retain_until"),
        "note": _text(data.get("note"), "note", 5000),
    }
    birth_number = _normalized(normalize_birth_number, data.get("birth_number"), "birth_number")
    values["birth_number"] = None
    if birth_number is not None:
        values["birth_number"], born = birth_number
        if values["birth_date"] is not None and born is not None and values["birth_date"] != born:
            raise CustomerError(N_("The birth date does not match the birth number."), field="birth_date")
        values["birth_date"] = values["birth_date"] or born
    if values["birth_date"] is not None and values["birth_date"] > date.today():
        raise CustomerError(N_("The birth date is in the future."), field="birth_date")
    if kind == COMPANY:
        values["display_name"] = values["company_name"]
        values["sort_name"] = fold(values["company_name"])
    else:
        first, last = values["first_name"] or "", values["last_name"] or ""
        values["display_name"] = f"{first} {last}".strip()
        values["sort_name"] = fold(f"{last} {first}")
    return values


def _check_vs_free(session: Session, vs: str, customer_id: int | None) -> None:
    other = session.scalar(select(Customer.id).where(Customer.variable_symbol == vs))
    if other is not None and other != customer_id:
        raise CustomerError(N_("Variable symbol %(vs)s belongs to another customer."), field="variable_symbol", vs=vs)


def _not_anonymised(customer: Customer) -> None:
    if customer.anonymised_at is not None:
        raise CustomerError(N_("An anonymised customer cannot be changed."))


def _emit(hook: str, customer: Customer, **kwargs: Any) -> None:
    """Tell the plugins enabled in the customer's location (nothing to tell outside an app)."""
    if not (has_app_context() and "mango" in current_app.extensions):
        return
    plugins = current_app.extensions["mango"].plugins
    if getattr(plugins.pm.hook, hook).get_hookimpls():  # nobody listening: skip the module look-up
        plugins.emit(hook, location_id=customer.location_id, customer=customer, **kwargs)


def _changed(customer: Customer, changes: dict[str, tuple[Any, Any]]) -> None:
    _emit("mango_customer_changed", customer, changes=changes)


def _record(session: Session, customer: Customer, action: str, changes: dict | None, *, actor: int | None,
            reason: str | None = None, entity: str = "customer", entity_id: int | None = None,
            effective: date | None = None) -> None:
    history.record(session, entity=entity, entity_id=entity_id or customer.id, customer_id=customer.id,
                   action=action, changes=changes, reason=reason, effective=effective, user_id=actor)


# --- the record -------------------------------------------------------------------------------


def get_customer(session: Session, customer_id: int) -> Customer:
    """A customer of the current location (the tenant guard hides all others): else NotFound."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound()
    return customer


def create_customer(session: Session, *, actor: int | None = None, reason: str | None = None,
                    state: str = LEAD, **data: Any) -> Customer:
    """A new customer with the next customer number of the location (and VS = number by default)."""
    if state not in STATES:
        raise CustomerError(N_("Unknown state."), field="state")
    values = _values(data)
    if values["variable_symbol"] is not None:
        _check_vs_free(session, values["variable_symbol"], None)
    with session.begin_nested():  # a refused default VS gives the number back
        number = sequences.take(session, NUMBER_SEQUENCE)
        if values["variable_symbol"] is None:
            values["variable_symbol"] = str(number)
            _check_vs_free(session, values["variable_symbol"], None)
        today = date.today()
        customer = Customer(number=number, state=state, state_changed_on=today,
                            activated_on=today if state == ACTIVE else None,
                            terminated_on=today if state == FORMER else None,
                            marketing_consent_at=utcnow() if values["marketing_consent"] else None,
                            custom_fields={}, **values)
        session.add(customer)
        session.flush()
    search.reindex(session, customer)
    shown = {k: (None, values[k]) for k in (*FIELDS, "display_name") if values.get(k) not in (None, False, "")}
    _record(session, customer, "created", {"number": (None, number), "state": (None, state), **shown},
            actor=actor, reason=reason)
    _emit("mango_customer_created", customer)
    return customer


def update_customer(session: Session, customer: Customer, *, actor: int | None = None,
                    reason: str | None = None, **data: Any) -> dict[str, tuple[Any, Any]]:
    """Change the record's fields given in ``data``; returns the changes (empty: nothing changed)."""
    _not_anonymised(customer)
    current = {f: getattr(customer, f) for f in FIELDS}
    values = _values({**current, **data})
    if values["variable_symbol"] is None:
        raise CustomerError(N_("This field is required."), field="variable_symbol")
    if values["variable_symbol"] != customer.variable_symbol:
        _check_vs_free(session, values["variable_symbol"], customer.id)
    changes = {k: (getattr(customer, k), new) for k, new in values.items() if getattr(customer, k) != new}
    if not changes:
        return {}
    for key, (_old, new) in changes.items():
        setattr(customer, key, new)
    if "marketing_consent" in changes:
        customer.marketing_consent_at = utcnow()
    session.flush()
    search.reindex(session, customer)
    changes.pop("sort_name", None)
    _record(session, customer, "updated", changes, actor=actor, reason=reason)
    _changed(customer, changes)
    return changes


def change_state(session: Session, customer: Customer, state: str, *, on: date | None = None,
                 actor: int | None = None, reason: str | None = None) -> dict[str, tuple[Any, Any]]:
    """lead → active → former (and former → active again); ``on`` is the effective date."""
    _not_anonymised(customer)
    if state not in STATES:
        raise CustomerError(N_("Unknown state."), field="state")
    if state not in TRANSITIONS[customer.state]:
        raise CustomerError(N_("A customer in state %(old)s cannot become %(new)s."), field="state",
                            old=customer.state, new=state)
    on = on or date.today()
    values: dict[str, Any] = {"state": state, "state_changed_on": on}
    if state == ACTIVE:
        values.update(activated_on=on, terminated_on=None)
    elif state == FORMER:
        values["terminated_on"] = on
    changes = {k: (getattr(customer, k), new) for k, new in values.items() if getattr(customer, k) != new}
    for key, new in values.items():
        setattr(customer, key, new)
    session.flush()
    _record(session, customer, "state_changed", changes, actor=actor, reason=reason, effective=on)
    _changed(customer, changes)
    return changes


def set_parent(session: Session, customer: Customer, parent_id: int | None, *, bill_to_parent: bool = False,
               actor: int | None = None, reason: str | None = None) -> dict[str, tuple[Any, Any]]:
    """Make ``customer`` a child of ``parent_id`` (same location, no cycles) or a top-level customer."""
    _not_anonymised(customer)
    parent = None
    if parent_id is not None:
        parent = session.get(Customer, parent_id)
        if parent is None or parent.location_id != customer.location_id:
            raise CustomerError(N_("The parent customer was not found in this location."), field="parent")
        ancestor: Customer | None = parent
        for _depth in range(100):
            if ancestor is None:
                break
            if ancestor.id == customer.id:
                raise CustomerError(N_("A customer cannot be its own parent, not even indirectly."), field="parent")
            ancestor = ancestor.parent
    if bill_to_parent and parent is None:
        raise CustomerError(N_("Billing can go to the parent only when there is a parent."), field="bill_to_parent")
    changes = {}
    if customer.parent_id != parent_id:
        changes["parent"] = (customer.parent.number if customer.parent else None, parent.number if parent else None)
    if customer.bill_to_parent != bill_to_parent:
        changes["bill_to_parent"] = (customer.bill_to_parent, bill_to_parent)
    if not changes:
        return {}
    customer.parent = parent
    customer.bill_to_parent = bill_to_parent
    session.flush()
    _record(session, customer, "parent_changed", changes, actor=actor, reason=reason)
    _changed(customer, changes)
    return changes


# History fields that hold personal data, per entity: erased from the history on anonymisation.
# State, tariff, price, dates, tags, parent and the variable symbol are not personal once the
# person is gone, and stay (the history must still tell what happened to the contract).
PERSONAL_HISTORY_FIELDS: dict[str, set[str]] = {
    "customer": {"first_name", "last_name", "company_name", "display_name", "ico", "dic", "birth_number",
                 "birth_date", "note"},
    "contact": {"name", "emails", "phones", "note"},
    "address": {"street", "city", "postal_code", "latitude", "longitude", "note"},
    "note": {"text"},
    "service": {"service_place", "note"},
}
PERSONAL_HISTORY_PREFIXES: dict[str, tuple[str, ...]] = {"customer": ("custom.",)}


def anonymise(session: Session, customer: Customer, *, actor: int | None = None, reason: str | None = None) -> None:
    """GDPR erasure: personal data go, the number, variable symbol, state and history stay.

    Only a former customer (or a lead that never became one) may be anonymised: an active
    customer still needs the data to be served and billed. The history keeps every entry, but
    the personal before/after values of this customer's entries (names, birth data, e-mails,
    phones, addresses, notes, custom fields: :data:`PERSONAL_HISTORY_FIELDS`) are replaced by a
    marker in the same transaction; the append-only triggers allow that one UPDATE only for a
    customer anonymised at the very time stamped on the rows.
    """
    _not_anonymised(customer)
    if customer.state == ACTIVE:
        raise CustomerError(N_("End the customer (state former) before anonymising."))
    blank = {"first_name": None, "last_name": None, "company_name": None, "ico": None, "dic": None,
             "birth_number": None, "birth_date": None, "note": None, "marketing_consent": False,
             "marketing_consent_at": None, "custom_fields": {}, "display_name": f"#{customer.number}",
             "sort_name": f"#{customer.number}"}
    for key, value in blank.items():
        setattr(customer, key, value)
    customer.contacts.clear()
    customer.addresses.clear()
    session.execute(delete(CustomerNote).where(CustomerNote.customer_id == customer.id))
    customer.anonymised_at = utcnow()
    session.flush()  # the history trigger checks anonymised_at in this transaction
    search.reindex(session, customer)
    history.redact(session, customer_id=customer.id, at=customer.anonymised_at, fields=PERSONAL_HISTORY_FIELDS,
                   prefixes=PERSONAL_HISTORY_PREFIXES)
    # The history keeps no personal values of this step: only that it happened, by whom and why.
    _record(session, customer, "anonymised", None, actor=actor, reason=reason)
    _changed(customer, {"anonymised_at": (None, customer.anonymised_at)})


# --- contacts ---------------------------------------------------------------------------------


def _channels(emails: Iterable[str], phones: Iterable[str]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for raw in emails:
        if raw and raw.strip():
            value = _normalized(normalize_email, raw, "emails")
            found.append((EMAIL, value, value.lower()))
    for raw in phones:
        if raw and raw.strip():
            value = _normalized(normalize_phone, raw, "phones")
            found.append((PHONE, value, phone_search_value(value)))
    unique = list(dict.fromkeys(found))
    return unique


def _contact_values(name: Any, roles: Iterable[str], emails: Iterable[str], phones: Iterable[str],
                    note: Any) -> dict[str, Any]:
    roles = set(roles or ())
    unknown = roles - set(CONTACT_ROLES)
    if unknown:
        raise CustomerError(N_("Unknown contact role."), field="roles")
    channels = _channels(emails or (), phones or ())
    if not channels:
        raise CustomerError(N_("Give at least one e-mail or phone number."), field="emails")
    return {"name": _text(name, "name", 200, required=True), "roles": roles, "channels": channels,
            "note": _text(note, "note", 2000)}


def _contact_snapshot(contact: CustomerContact) -> dict[str, Any]:
    return {"name": contact.name, "roles": contact.roles, "emails": [c.value for c in contact.emails],
            "phones": [c.value for c in contact.phones], "note": contact.note}


def _fill_contact(contact: CustomerContact, values: dict[str, Any]) -> None:
    contact.name = values["name"]
    contact.note = values["note"]
    for role in CONTACT_ROLES:
        setattr(contact, f"role_{role}", role in values["roles"])
    contact.channels.clear()
    first_of: set[str] = set()
    for kind, value, search_value in values["channels"]:
        contact.channels.append(CustomerContactChannel(kind=kind, value=value, search_value=search_value,
                                                       is_primary=kind not in first_of))
        first_of.add(kind)


def add_contact(session: Session, customer: Customer, *, name: str, roles: Iterable[str] = (),
                emails: Iterable[str] = (), phones: Iterable[str] = (), note: str | None = None,
                actor: int | None = None) -> CustomerContact:
    """A contact person with roles (billing, technical, owner); the first e-mail/phone is primary."""
    _not_anonymised(customer)
    values = _contact_values(name, roles, emails, phones, note)
    contact = CustomerContact(customer=customer)
    _fill_contact(contact, values)
    session.add(contact)
    session.flush()
    search.reindex(session, customer)
    changes = {k: (None, v) for k, v in _contact_snapshot(contact).items()}
    _record(session, customer, "contact_added", changes, actor=actor, entity="contact", entity_id=contact.id)
    _changed(customer, {f"contact.{k}": pair for k, pair in changes.items()})
    return contact


def get_contact(session: Session, customer: Customer, contact_id: int) -> CustomerContact:
    contact = session.get(CustomerContact, contact_id)
    if contact is None or contact.customer_id != customer.id:
        raise NotFound(N_("Contact not found."))
    return contact


def update_contact(session: Session, contact: CustomerContact, *, name: str, roles: Iterable[str] = (),
                   emails: Iterable[str] = (), phones: Iterable[str] = (), note: str | None = None,
                   actor: int | None = None) -> dict[str, tuple[Any, Any]]:
    customer = contact.customer
    _not_anonymised(customer)
    values = _contact_values(name, roles, emails, phones, note)
    before = _contact_snapshot(contact)
    _fill_contact(contact, values)
    session.flush()
    after = _contact_snapshot(contact)
    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if changes:
        search.reindex(session, customer)
        _record(session, customer, "contact_changed", changes, actor=actor, entity="contact", entity_id=contact.id)
        _changed(customer, {f"contact.{k}": pair for k, pair in changes.items()})
    return changes


def remove_contact(session: Session, contact: CustomerContact, *, actor: int | None = None) -> None:
    customer = contact.customer
    _not_anonymised(customer)
    before = _contact_snapshot(contact)
    contact_id = contact.id
    customer.contacts.remove(contact)
    session.flush()
    search.reindex(session, customer)
    changes = {k: (value, None) for k, value in before.items()}
    _record(session, customer, "contact_removed", changes, actor=actor, entity="contact", entity_id=contact_id)
    _changed(customer, {f"contact.{k}": pair for k, pair in changes.items()})


# --- addresses --------------------------------------------------------------------------------

ADDRESS_FIELDS = ("kind", "street", "city", "postal_code", "country", "latitude", "longitude", "note")


def _coordinate(value: Any, field: str, limit: int) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).replace(",", ".").strip())
    except ValueError as exc:
        raise CustomerError(N_("Enter a number in degrees, e.g. 50.0755."), field=field) from exc
    if not -limit <= number <= limit:
        raise CustomerError(N_("Out of range (%(limit)d degrees at most)."), field=field, limit=limit)
    return round(number, 7)


def _address_values(data: dict[str, Any]) -> dict[str, Any]:
    kind = data.get("kind") or "permanent"
    if kind not in ADDRESS_KINDS:
        raise CustomerError(N_("Unknown kind of address."), field="kind")
    country = (data.get("country") or "CZ").strip().upper()
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise CustomerError(N_("Enter a two-letter country code, e.g. CZ."), field="country")
    values = {
        "kind": kind,
        "street": _text(data.get("street"), "street", 200, required=True),
        "city": _text(data.get("city"), "city", 100, required=True),
        "postal_code": _normalized(lambda x: v.normalize_postal_code(x, country), data.get("postal_code"),
                                   "postal_code") or "",
        "country": country,
        "latitude": _coordinate(data.get("latitude"), "latitude", 90),
        "longitude": _coordinate(data.get("longitude"), "longitude", 180),
        "note": _text(data.get("note"), "note", 2000),
    }
    if (values["latitude"] is None) != (values["longitude"] is None):
        raise CustomerError(N_("Give both coordinates or neither."), field="latitude")
    return values


def add_address(session: Session, customer: Customer, *, actor: int | None = None, **data: Any) -> CustomerAddress:
    _not_anonymised(customer)
    values = _address_values(data)
    address = CustomerAddress(customer=customer, **values)
    session.add(address)
    session.flush()
    search.reindex(session, customer)
    changes = {k: (None, val) for k, val in values.items()}
    _record(session, customer, "address_added", changes, actor=actor, entity="address", entity_id=address.id)
    _changed(customer, {f"address.{k}": pair for k, pair in changes.items()})
    return address


def get_address(session: Session, customer: Customer, address_id: int) -> CustomerAddress:
    address = session.get(CustomerAddress, address_id)
    if address is None or address.customer_id != customer.id:
        raise NotFound(N_("Address not found."))
    return address


def update_address(session: Session, address: CustomerAddress, *, actor: int | None = None,
                   **data: Any) -> dict[str, tuple[Any, Any]]:
    customer = address.customer
    _not_anonymised(customer)
    current = {f: getattr(address, f) for f in ADDRESS_FIELDS}
    values = _address_values({**current, **data})
    changes = {k: (current[k], val) for k, val in values.items() if current[k] != val}
    if not changes:
        return {}
    for key, (_old, new) in changes.items():
        setattr(address, key, new)
    session.flush()
    search.reindex(session, customer)
    _record(session, customer, "address_changed", changes, actor=actor, entity="address", entity_id=address.id)
    _changed(customer, {f"address.{k}": pair for k, pair in changes.items()})
    return changes


def remove_address(session: Session, address: CustomerAddress, *, actor: int | None = None) -> None:
    customer = address.customer
    _not_anonymised(customer)
    changes = {f: (getattr(address, f), None) for f in ADDRESS_FIELDS}
    address_id = address.id
    customer.addresses.remove(address)
    session.flush()
    search.reindex(session, customer)
    _record(session, customer, "address_removed", changes, actor=actor, entity="address", entity_id=address_id)
    _changed(customer, {f"address.{k}": pair for k, pair in changes.items()})


# --- notes and tags ---------------------------------------------------------------------------


def add_note(session: Session, customer: Customer, text: str, *, actor: int | None = None) -> CustomerNote:
    _not_anonymised(customer)
    body = _text(text, "text", 5000, required=True)
    note = CustomerNote(customer_id=customer.id, author_id=actor, text=body)
    session.add(note)
    session.flush()
    _record(session, customer, "note_added", {"text": (None, body)}, actor=actor, entity="note", entity_id=note.id)
    return note


def list_notes(session: Session, customer: Customer, limit: int = 50) -> list[CustomerNote]:
    return list(session.scalars(select(CustomerNote).where(CustomerNote.customer_id == customer.id)
                                .order_by(CustomerNote.id.desc()).limit(limit)))


def _tag_name(name: Any) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise CustomerError(N_("This field is required."), field="tag")
    if len(text) > 50:
        raise CustomerError(N_("At most %(max)d characters."), field="tag", max=50)
    return text


def list_tags(session: Session) -> list[CustomerTag]:
    return list(session.scalars(select(CustomerTag).order_by(CustomerTag.name)))


def add_tag(session: Session, customer: Customer, name: str, *, actor: int | None = None) -> CustomerTag:
    """Put a tag on a customer, creating the tag in the location when it is new (case-insensitive)."""
    _not_anonymised(customer)
    name = _tag_name(name)
    tag = next((t for t in list_tags(session) if t.name.lower() == name.lower()), None)
    if tag is None:
        tag = CustomerTag(name=name)
        session.add(tag)
        session.flush()
    before = [t.name for t in customer.tags]
    if tag.id in {link.tag_id for link in customer.tag_links}:
        return tag
    customer.tag_links.append(CustomerTagLink(tag=tag))
    session.flush()
    changes = {"tags": (before, [t.name for t in customer.tags])}
    _record(session, customer, "tag_added", changes, actor=actor)
    _changed(customer, changes)
    return tag


def remove_tag(session: Session, customer: Customer, tag_id: int, *, actor: int | None = None) -> None:
    _not_anonymised(customer)
    link = next((lk for lk in customer.tag_links if lk.tag_id == tag_id), None)
    if link is None:
        raise NotFound(N_("The customer has no such tag."))
    before = [t.name for t in customer.tags]
    customer.tag_links.remove(link)
    session.flush()
    changes = {"tags": (before, [t.name for t in customer.tags])}
    _record(session, customer, "tag_removed", changes, actor=actor)
    _changed(customer, changes)
