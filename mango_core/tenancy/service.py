"""Partners, locations, licences, enabled modules and bank accounts.

Views, commands and the demo call these functions; they never write the tenancy tables
themselves. Every function validates all input before it changes anything, so bad input raises
an :class:`~mango_core.tenancy.validators.InvalidValue` (a ``ValueError``) and leaves the data as
it was. The caller commits, except where a function says otherwise (module switches commit
before they announce the change to plugins).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel import Locale
from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core.plugins import CORE, NAME_RE, PluginManager
from mango_core.tenancy import validators as v
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount, Licence, Location, LocationModule, Partner
from mango_core.tenancy.validators import N_, InvalidValue


class ServiceError(InvalidValue):
    """A request that breaks a business rule (duplicate code, overlapping licence, …)."""


class NotFound(ServiceError):
    default_message = N_("Not found.")


# --- helpers -----------------------------------------------------------------------------------


def _required(value: Any, field: str, max_len: int) -> str:
    text = (value or "").strip() if isinstance(value, str | type(None)) else str(value).strip()
    if not text:
        raise ServiceError(N_("This field is required."), field=field)
    if len(text) > max_len:
        raise ServiceError(N_("At most %(max)d characters."), field=field, max=max_len)
    return text


def _optional_text(value: Any, field: str, max_len: int) -> str | None:
    text = (value or "").strip() if isinstance(value, str | type(None)) else str(value).strip()
    if len(text) > max_len:
        raise ServiceError(N_("At most %(max)d characters."), field=field, max=max_len)
    return text or None


def _email(value: Any, field: str = "email") -> str | None:
    text = _optional_text(value, field, 254)
    if text is None:
        return None
    local, _, domain = text.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in text):
        raise ServiceError(N_("Enter a valid e-mail address."), field=field)
    return text.lower()


def _field(normalizer, value: Any, field: str, *args: Any) -> Any:  # noqa: ANN001
    try:
        return normalizer(value, *args)
    except InvalidValue as exc:
        exc.field = exc.field or field
        raise


def _optional_field(normalizer, value: Any, field: str) -> Any:  # noqa: ANN001
    return None if not (value or "").strip() else _field(normalizer, value, field)


def offered_locales() -> list[str]:
    if has_app_context() and "mango" in current_app.extensions:
        return list(current_app.extensions["mango"].settings["locales"])
    return ["cs", "en"]


def _country(value: Any) -> str:
    code = (value or "CZ").strip().upper()
    if code not in Locale("en").territories or not (len(code) == 2 and code.isalpha()):
        raise ServiceError(N_("Enter a two-letter country code, e.g. CZ."), field="country")
    return code


def _apply(obj: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(obj, key, value)


# --- partners ----------------------------------------------------------------------------------

PARTNER_FIELDS = ("name", "company_name", "ico", "dic", "email", "phone", "is_active")


def _partner_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": _required(data.get("name"), "name", 200),
        "company_name": _required(data.get("company_name"), "company_name", 200),
        "ico": _optional_field(v.normalize_ico, data.get("ico"), "ico"),
        "dic": _optional_field(v.normalize_dic, data.get("dic"), "dic"),
        "email": _email(data.get("email")),
        "phone": _optional_text(data.get("phone"), "phone", 40),
        "is_active": bool(data.get("is_active", True)),
    }


def create_partner(session: Session, *, code: str, **data: Any) -> Partner:
    code = _field(v.normalize_code, code, "code")
    values = _partner_values(data)
    if session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise ServiceError(N_("A partner with code %(code)s already exists."), field="code", code=code)
    partner = Partner(code=code, **values)
    session.add(partner)
    session.flush()
    return partner


def update_partner(session: Session, partner: Partner, **data: Any) -> Partner:
    current = {f: getattr(partner, f) for f in PARTNER_FIELDS}
    values = _partner_values({**current, **data})
    _apply(partner, values)
    session.flush()
    return partner


def get_partner(session: Session, code_or_id: str | int) -> Partner:
    if isinstance(code_or_id, int):
        partner = session.get(Partner, code_or_id)
    else:
        partner = session.scalar(select(Partner).where(Partner.code == code_or_id.strip().upper()))
    if partner is None:
        raise NotFound(N_("No partner %(code)s."), code=code_or_id)
    return partner


# --- locations ---------------------------------------------------------------------------------

LOCATION_FIELDS = (
    "name", "company_name", "ico", "dic", "vat_payer", "street", "city", "postal_code", "country",
    "mailing_address", "email", "phone", "currency", "locale", "timezone", "invoice_series", "is_active",
)


def _location_values(data: dict[str, Any], locales: Iterable[str] | None) -> dict[str, Any]:
    country = _country(data.get("country"))
    values = {
        "name": _required(data.get("name"), "name", 200),
        "company_name": _required(data.get("company_name"), "company_name", 200),
        "ico": _optional_field(v.normalize_ico, data.get("ico"), "ico"),
        "dic": _optional_field(v.normalize_dic, data.get("dic"), "dic"),
        "vat_payer": bool(data.get("vat_payer")),
        "street": _optional_text(data.get("street"), "street", 200) or "",
        "city": _optional_text(data.get("city"), "city", 100) or "",
        "postal_code": (
            _field(v.normalize_postal_code, data.get("postal_code"), "postal_code", country)
            if (data.get("postal_code") or "").strip() else ""
        ),
        "country": country,
        "mailing_address": _optional_text(data.get("mailing_address"), "mailing_address", 2000),
        "email": _email(data.get("email")),
        "phone": _optional_text(data.get("phone"), "phone", 40),
        "currency": _field(v.normalize_currency, data.get("currency") or "CZK", "currency"),
        "locale": _field(v.normalize_locale, data.get("locale") or "cs", "locale",
                         list(locales or offered_locales())),
        "timezone": _field(v.normalize_timezone, data.get("timezone") or "Europe/Prague", "timezone"),
        "invoice_series": _field(v.parse_invoice_series, data.get("invoice_series"), "invoice_series"),
        "is_active": bool(data.get("is_active", True)),
    }
    if values["vat_payer"] and not values["dic"]:
        raise ServiceError(N_("A VAT payer must have a DIČ."), field="dic")
    return values


def create_location(
    session: Session, *, partner: Partner, code: str, locales: Iterable[str] | None = None, **data: Any
) -> Location:
    code = _field(v.normalize_code, code, "code")
    values = _location_values(data, locales)
    if session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise ServiceError(N_("A location with code %(code)s already exists."), field="code", code=code)
    location = Location(partner_id=partner.id, code=code, **values)
    session.add(location)
    session.flush()
    return location


def update_location(
    session: Session, location: Location, *, locales: Iterable[str] | None = None, **data: Any
) -> Location:
    current = {f: getattr(location, f) for f in LOCATION_FIELDS}
    values = _location_values({**current, **data}, locales)
    _apply(location, values)
    session.flush()
    return location


def get_location(session: Session, code_or_id: str | int) -> Location:
    if isinstance(code_or_id, int):
        location = session.get(Location, code_or_id)
    else:
        location = session.scalar(select(Location).where(Location.code == code_or_id.strip().upper()))
    if location is None:
        raise NotFound(N_("No location %(code)s."), code=code_or_id)
    return location


# --- licences ----------------------------------------------------------------------------------


def _check_module_name(module: str) -> str:
    name = (module or "").strip().lower()
    if not NAME_RE.match(name) or name == CORE:
        raise ServiceError(N_("%(module)s is not a module name."), field="module", module=module)
    return name


def _overlapping(session: Session, partner_id: int, module: str, start: date, end: date | None,
                 exclude_id: int | None = None) -> Licence | None:
    query = select(Licence).where(
        Licence.partner_id == partner_id,
        Licence.module == module,
        (Licence.valid_until.is_(None)) | (Licence.valid_until >= start),
    )
    if end is not None:
        query = query.where(Licence.valid_from <= end)
    if exclude_id is not None:
        query = query.where(Licence.id != exclude_id)
    return session.scalars(query.order_by(Licence.valid_from)).first()


def _overlap_error(other: Licence) -> ServiceError:
    if other.valid_until is None:
        return ServiceError(N_("It overlaps the licence valid from %(start)s with no end."),
                            field="valid_from", start=other.valid_from.isoformat())
    return ServiceError(N_("It overlaps the licence valid from %(start)s to %(end)s."), field="valid_from",
                        start=other.valid_from.isoformat(), end=other.valid_until.isoformat())


def add_licence(
    session: Session, partner: Partner, module: str, *, valid_from: date | None = None,
    valid_until: date | None = None, note: str | None = None,
) -> Licence:
    """A licence for ``module`` (inclusive dates); licences of one module may not overlap."""
    module = _check_module_name(module)
    start = valid_from or date.today()
    if valid_until is not None and valid_until < start:
        raise ServiceError(N_("The licence cannot end before it starts."), field="valid_until")
    other = _overlapping(session, partner.id, module, start, valid_until)
    if other is not None:
        raise _overlap_error(other)
    licence = Licence(partner_id=partner.id, module=module, valid_from=start, valid_until=valid_until,
                      note=_optional_text(note, "note", 2000))
    session.add(licence)
    session.flush()
    return licence


def end_licence(session: Session, licence: Licence, until: date | None = None) -> Licence:
    """Set the last day of a licence (today by default); it may be moved, never before its start."""
    last = until or date.today()
    if last < licence.valid_from:
        raise ServiceError(N_("The licence cannot end before it starts."), field="valid_until")
    other = _overlapping(session, licence.partner_id, licence.module, licence.valid_from, last,
                         exclude_id=licence.id)
    if other is not None:
        raise _overlap_error(other)
    licence.valid_until = last
    session.flush()
    return licence


def valid_licence(session: Session, partner_id: int, module: str, on: date | None = None) -> Licence | None:
    day = on or date.today()
    return session.scalars(
        select(Licence).where(
            Licence.partner_id == partner_id,
            Licence.module == module,
            Licence.valid_from <= day,
            (Licence.valid_until.is_(None)) | (Licence.valid_until >= day),
        )
    ).first()


# --- modules of a location ---------------------------------------------------------------------


@dataclass
class ModuleState:
    """A licensed, loaded module as seen from one location."""

    name: str
    title: str
    licence: Licence | None  # valid today
    next_licence: Licence | None  # the next one, when none is valid today
    enabled: bool  # switched on for the location

    @property
    def active(self) -> bool:
        return self.enabled and self.licence is not None


def module_states(session: Session, plugins: PluginManager, location: Location,
                  on: date | None = None) -> list[ModuleState]:
    day = on or date.today()
    switched = set(session.scalars(select(LocationModule.module).where(LocationModule.location_id == location.id)))
    states = []
    for plugin in plugins.ordered():
        if not plugin.licensed:
            continue
        current = valid_licence(session, location.partner_id, plugin.name, day)
        upcoming = None
        if current is None:
            upcoming = session.scalars(
                select(Licence).where(Licence.partner_id == location.partner_id, Licence.module == plugin.name,
                                      Licence.valid_from > day).order_by(Licence.valid_from)
            ).first()
        states.append(ModuleState(plugin.name, plugin.meta.title, current, upcoming, plugin.name in switched))
    return states


def _loaded_licensed(plugins: PluginManager, module: str) -> str:
    plugin = plugins.plugins.get(module)
    if plugin is None:
        raise ServiceError(N_("Module %(module)s is not installed or not loaded."), field="module", module=module)
    if not plugin.licensed:
        raise ServiceError(N_("Module %(module)s is part of the core and always on."), field="module",
                           module=module)
    return plugin.name


def enable_module(session: Session, plugins: PluginManager, location: Location, module: str, *,
                  user_id: int | None = None, on: date | None = None) -> bool:
    """Switch a licensed module on for a location; False when it already was.

    Needs a licence of the location's partner valid today. Commits, then emits
    ``mango_location_module_changed`` (the module itself is among the receivers).
    """
    module = _loaded_licensed(plugins, module)
    if valid_licence(session, location.partner_id, module, on) is None:
        raise ServiceError(N_("Partner %(partner)s holds no licence for %(module)s valid today."),
                           field="module", partner=location.partner.code, module=module)
    exists = session.scalar(select(LocationModule.id).where(
        LocationModule.location_id == location.id, LocationModule.module == module))
    if exists is not None:
        return False
    session.add(LocationModule(location_id=location.id, module=module, enabled_by_id=user_id))
    session.commit()
    plugins.emit("mango_location_module_changed", location_id=location.id, module=module, enabled=True)
    return True


def disable_module(session: Session, plugins: PluginManager, location: Location, module: str) -> bool:
    """Switch a module off for a location; False when it was not on.

    The module still hears ``mango_location_module_changed`` (emitted before the change is
    committed, while it is active), so that it can tidy up.
    """
    module = _loaded_licensed(plugins, module)
    row = session.scalar(select(LocationModule).where(
        LocationModule.location_id == location.id, LocationModule.module == module))
    if row is None:
        return False
    plugins.emit("mango_location_module_changed", location_id=location.id, module=module, enabled=False)
    session.delete(row)
    session.commit()
    return True


# --- bank accounts (tenant-owned) --------------------------------------------------------------


def list_bank_accounts(session: Session, location_id: int) -> list[BankAccount]:
    with location_scope(location_id):
        return list(session.scalars(
            select(BankAccount).order_by(BankAccount.is_default.desc(), BankAccount.label, BankAccount.id)))


def get_bank_account(session: Session, location_id: int, account_id: int) -> BankAccount:
    with location_scope(location_id):
        account = session.scalar(select(BankAccount).where(BankAccount.id == account_id))
    if account is None:
        raise NotFound(N_("No such bank account in this location."))
    return account


def _bank_values(label: Any, account: Any, currency: Any) -> dict[str, Any]:
    parsed = _field(v.parse_bank_account, account, "account")
    return {
        "label": _required(label, "label", 100),
        "account_number": parsed.account_number,
        "iban": parsed.iban,
        "bic": parsed.bic,
        "currency": _field(v.normalize_currency, currency or "CZK", "currency"),
    }


def _make_default(session: Session, keep: BankAccount) -> None:
    for other in session.scalars(select(BankAccount).where(BankAccount.id != keep.id, BankAccount.is_default)):
        other.is_default = False


def add_bank_account(session: Session, location_id: int, *, label: str, account: str,
                     currency: str = "CZK", is_default: bool = False) -> BankAccount:
    values = _bank_values(label, account, currency)
    with location_scope(location_id):
        if session.scalar(select(BankAccount.id).where(BankAccount.iban == values["iban"])) is not None:
            raise ServiceError(N_("This account is already recorded."), field="account")
        first = session.scalar(select(func.count()).select_from(BankAccount)) == 0
        row = BankAccount(location_id=location_id, is_default=bool(is_default or first), **values)
        session.add(row)
        session.flush()
        if row.is_default:
            _make_default(session, row)
        session.flush()
    return row


def update_bank_account(session: Session, location_id: int, account_id: int, *, label: str, account: str,
                        currency: str = "CZK", is_default: bool = False) -> BankAccount:
    values = _bank_values(label, account, currency)
    row = get_bank_account(session, location_id, account_id)
    with location_scope(location_id):
        clash = session.scalar(select(BankAccount.id).where(BankAccount.iban == values["iban"],
                                                            BankAccount.id != row.id))
        if clash is not None:
            raise ServiceError(N_("This account is already recorded."), field="account")
        _apply(row, values)
        if is_default:
            row.is_default = True
            _make_default(session, row)
        session.flush()
    return row


def delete_bank_account(session: Session, location_id: int, account_id: int) -> None:
    row = get_bank_account(session, location_id, account_id)
    with location_scope(location_id):
        session.delete(row)
        session.flush()
        if row.is_default:
            successor = session.scalars(select(BankAccount).order_by(BankAccount.id)).first()
            if successor is not None:
                successor.is_default = True
                session.flush()
