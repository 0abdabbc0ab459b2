"""Parameter types: how a value is read, checked against its definition, stored as JSON and shown.

A type is a stateless object registered under its name (``text``, ``integer``…); plugins add their
own with :func:`register_type`. Reading happens in two steps so that stored values can be read back
even after their definition changed:

* :meth:`ParamType.convert` turns user text or a Python/JSON value into the Python value (syntax
  only; the same for every definition of the type; also used by :meth:`ParamType.from_json`);
* :meth:`ParamType.check` applies the rules of one definition (bounds, pattern, choices, places).

Every failure is a :class:`~mango_core.params.errors.ParamValueError`, whatever the input.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import has_app_context, has_request_context
from flask_babel import force_locale, get_locale, gettext

from mango_core.params.errors import DefinitionError, ParamValueError
from mango_core.tenancy.validators import N_

if TYPE_CHECKING:
    from mango_core.params.definitions import ParamDef

JSONValue = str | int | bool | None
Resolvers = Mapping[str, Callable[[Any], bool]]
"""Callbacks by type name that check references the library cannot see, e.g. ``{"device": exists}``."""

INT_LIMIT = 2**63 - 1  # fits a BIGINT column, should a value ever be copied into one
MAX_PLACES = 10
MAX_INTEGER_DIGITS = 18
TEXT_MAX_LENGTH = 2000  # a parameter is a short value, not a document

_GROUPED = r"(?:[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]+)"  # "1 234 567" as Czechs write it
_INTEGER_RE = re.compile(rf"[+-]?{_GROUPED}")
_DECIMAL_RE = re.compile(rf"[+-]?{_GROUPED}(?:[.,][0-9]+)?")
_SPACES_RE = re.compile(r"[ \u00a0\u202f]")
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CZECH_DATE_RE = re.compile(r"([0-9]{1,2})\.\s*([0-9]{1,2})\.\s*([0-9]{4})")
_MAC_RE = re.compile(
    r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}"  # 00:1a:2b:3c:4d:5e, 00-1A-2B-3C-4D-5E
    r"|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}"  # 001a.2b3c.4d5e (Cisco)
    r"|[0-9a-f]{12}"
)
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def is_empty(raw: Any) -> bool:
    """No value entered: ``None`` or blank text."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def ui_locale() -> str:
    """The locale of the current request (numbers in error messages), English outside one."""
    if has_request_context():
        return str(get_locale() or "en")
    return "en"


def _translated(message: str, locale: str) -> str:
    if not has_app_context():
        return message
    with force_locale(locale):
        return gettext(message)


class ParamType:
    """Base of parameter types; subclasses set ``name`` and implement :meth:`convert`."""

    name: ClassVar[str]
    title: ClassVar[str]  # shown where a partner chooses the type of a new parameter
    invalid: ClassVar[str] = N_("Invalid value.")
    bounded: ClassVar[bool] = False  # whether min/max apply
    too_small: ClassVar[str] = ""
    too_large: ClassVar[str] = ""
    options: ClassVar[frozenset[str]] = frozenset()  # which of "regex", "choices", "places" apply
    empty: ClassVar[Any] = None  # the value when nothing is entered

    def fail(self, key: str, message: str | None = None, **params: Any) -> ParamValueError:
        return ParamValueError(key, message or self.invalid, **params)

    def convert(self, raw: Any, key: str) -> Any:
        raise NotImplementedError

    def check(self, pdef: ParamDef, value: Any) -> Any:
        if self.bounded:
            if pdef.min is not None and self.measure(value) < pdef.min:
                raise self.fail(pdef.key, self.too_small, min=self.bound_text(pdef, pdef.min))
            if pdef.max is not None and self.measure(value) > pdef.max:
                raise self.fail(pdef.key, self.too_large, max=self.bound_text(pdef, pdef.max))
        return value

    def resolve(self, pdef: ParamDef, value: Any, resolvers: Resolvers) -> None:
        """Check a reference outside the library (see :data:`Resolvers`); nothing by default."""

    def parse(self, pdef: ParamDef, raw: Any, resolvers: Resolvers | None = None) -> Any:
        value = self.check(pdef, self.convert(raw, pdef.key))
        if resolvers:
            self.resolve(pdef, value, resolvers)
        return value

    def define(self, pdef: ParamDef) -> None:
        """Type-specific checks of a definition (raise :class:`DefinitionError`)."""

    def measure(self, value: Any) -> Any:
        return value

    def convert_bound(self, raw: Any, key: str) -> Any:
        return self.convert(raw, key)

    def bound_to_json(self, bound: Any) -> JSONValue:
        return self.to_json(bound)

    def bound_text(self, pdef: ParamDef, bound: Any) -> Any:
        return self.format(pdef, bound, ui_locale())

    def to_json(self, value: Any) -> JSONValue:
        return str(value)

    def from_json(self, data: Any, key: str = "") -> Any:
        return self.convert(data, key)

    def format(self, pdef: ParamDef, value: Any, locale: str) -> str:
        return str(value)


class TextType(ParamType):
    name = "text"
    title = N_("Text")
    invalid = N_("Enter text.")
    bounded = True  # on the length
    too_small = N_("At least %(min)d characters.")
    too_large = N_("At most %(max)d characters.")
    options = frozenset({"regex"})

    def convert(self, raw: Any, key: str) -> str:
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)  # a class that turned a number into text keeps its values
        if not isinstance(raw, str):
            raise self.fail(key)
        text = raw.strip()
        if any(unicodedata.category(c) in ("Cc", "Cs") and c not in _ALLOWED_CONTROLS for c in text):
            raise self.fail(key, N_("The text contains characters that are not allowed."))
        if len(text) > TEXT_MAX_LENGTH:
            raise self.fail(key, self.too_large, max=TEXT_MAX_LENGTH)
        return text

    def check(self, pdef: ParamDef, value: str) -> str:
        if pdef.regex is not None and not re.fullmatch(pdef.regex, value):
            raise self.fail(pdef.key, N_("The value does not have the required format."))
        return super().check(pdef, value)

    def measure(self, value: str) -> int:
        return len(value)

    def convert_bound(self, raw: Any, key: str) -> int:
        try:
            length = IntegerType().convert(raw, key)  # "5" from a definition form, too
        except ParamValueError:
            length = -1
        if not 0 <= length <= TEXT_MAX_LENGTH:
            raise self.fail(key, N_("A length is a whole number from 0 to %(limit)d."), limit=TEXT_MAX_LENGTH)
        return length

    def bound_to_json(self, bound: int) -> int:
        return bound

    def bound_text(self, pdef: ParamDef, bound: int) -> int:
        return bound


class IntegerType(ParamType):
    name = "integer"
    title = N_("Whole number")
    invalid = N_("Enter a whole number.")
    bounded = True
    too_small = N_("Enter a number of at least %(min)s.")
    too_large = N_("Enter a number of at most %(max)s.")

    def convert(self, raw: Any, key: str) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and _INTEGER_RE.fullmatch(text := raw.strip()):
            if len(text) > 30:
                raise self.fail(key, N_("The number is too large."))
            value = int(_SPACES_RE.sub("", text))
        else:
            raise self.fail(key)
        if abs(value) > INT_LIMIT:
            raise self.fail(key, N_("The number is too large."))
        return value

    def to_json(self, value: int) -> int:
        return value

    def format(self, pdef: ParamDef, value: int, locale: str) -> str:
        return format_decimal(value, locale=locale)


class DecimalType(ParamType):
    """Exact decimal numbers (``Decimal``, never float); ``places`` fixes the decimal places."""

    name = "decimal"
    title = N_("Decimal number")
    invalid = N_("Enter a number, e.g. 12,5.")
    bounded = True
    too_small = IntegerType.too_small
    too_large = IntegerType.too_large
    options = frozenset({"places"})

    def convert(self, raw: Any, key: str) -> Decimal:
        if isinstance(raw, Decimal) and raw.is_finite():
            value = raw
        elif isinstance(raw, int) and not isinstance(raw, bool):
            value = Decimal(raw)
        elif isinstance(raw, str) and _DECIMAL_RE.fullmatch(text := raw.strip()):
            if len(text) > 60:
                raise self.fail(key, N_("The number is too large."))
            value = Decimal(_SPACES_RE.sub("", text).replace(",", "."))
        else:
            raise self.fail(key)
        if value and value.adjusted() >= MAX_INTEGER_DIGITS:
            raise self.fail(key, N_("The number is too large."))
        if -value.as_tuple().exponent > MAX_PLACES:  # type: ignore[operator]
            raise self.fail(key, N_("At most %(places)d decimal places."), places=MAX_PLACES)
        value = value if value.as_tuple().exponent <= 0 else value.quantize(Decimal(1))  # type: ignore[operator]
        return abs(value) if not value else value  # no "-0"

    def check(self, pdef: ParamDef, value: Decimal) -> Decimal:
        if pdef.places is not None:
            exact = value.quantize(Decimal(1).scaleb(-pdef.places))
            if exact != value:
                raise self.fail(pdef.key, N_("At most %(places)d decimal places."), places=pdef.places)
            value = exact
        return super().check(pdef, value)

    def to_json(self, value: Decimal) -> str:
        return format(value, "f")

    def format(self, pdef: ParamDef, value: Decimal, locale: str) -> str:
        places = max(0, -value.as_tuple().exponent)  # type: ignore[operator]
        return format_decimal(value, format="#,##0." + "0" * places, locale=locale)


class BooleanType(ParamType):
    name = "boolean"
    title = N_("Yes / no")
    invalid = N_("Enter yes or no.")
    empty = False  # an unticked box
    _words: ClassVar[dict[str, bool]] = {
        "1": True, "true": True, "yes": True, "on": True, "ano": True,
        "0": False, "false": False, "no": False, "off": False, "ne": False,
    }

    def convert(self, raw: Any, key: str) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in self._words:
            return self._words[raw.strip().lower()]
        raise self.fail(key)

    def to_json(self, value: bool) -> bool:
        return value

    def format(self, pdef: ParamDef, value: bool, locale: str) -> str:
        return _translated(N_("yes") if value else N_("no"), locale)


class ChoiceType(ParamType):
    """One value out of the definition's ``choices``; the value is stored, the label shown."""

    name = "choice"
    title = N_("Choice")
    invalid = N_("Choose one of the offered values.")
    options = frozenset({"choices"})

    def convert(self, raw: Any, key: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(key)
        return raw.strip()

    def check(self, pdef: ParamDef, value: str) -> str:
        if value not in dict(pdef.choices):
            raise self.fail(pdef.key, N_("Choose one of: %(choices)s."),
                            choices=", ".join(v for v, _ in pdef.choices))
        return value

    def define(self, pdef: ParamDef) -> None:
        if not pdef.choices:
            raise DefinitionError(N_("Parameter %(key)s needs at least one choice."), key=pdef.key)

    def format(self, pdef: ParamDef, value: str, locale: str) -> str:
        return dict(pdef.choices).get(value, value)


class DateType(ParamType):
    name = "date"
    title = N_("Date")
    invalid = N_("Enter a date, e.g. 31. 12. 2024.")
    bounded = True
    too_small = N_("Enter a date on or after %(min)s.")
    too_large = N_("Enter a date on or before %(max)s.")

    def convert(self, raw: Any, key: str) -> date:
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        if isinstance(raw, str):
            text = raw.strip()
            try:
                if _ISO_DATE_RE.fullmatch(text):
                    return date.fromisoformat(text)
                if match := _CZECH_DATE_RE.fullmatch(text):
                    day, month, year = map(int, match.groups())
                    return date(year, month, day)
            except ValueError as exc:
                raise self.fail(key) from exc
        raise self.fail(key)

    def to_json(self, value: date) -> str:
        return value.isoformat()

    def format(self, pdef: ParamDef, value: date, locale: str) -> str:
        return format_date(value, "medium", locale=locale)


class AddressType(ParamType):
    """An IP address or prefix, read by the standard :mod:`ipaddress` and kept in its object.

    Scoped IPv6 addresses (``fe80::1%eth0``) are refused: a zone names an interface of one host,
    which means nothing in a service's parameters (and it would take any text, even a NUL).
    """

    kind: ClassVar[type]

    def convert(self, raw: Any, key: str) -> Any:
        value = self.read(raw, key)
        if "%" in str(value):
            raise self.fail(key)
        return value

    def read(self, raw: Any, key: str) -> Any:
        if isinstance(raw, self.kind):
            return raw
        if not isinstance(raw, str):
            raise self.fail(key)
        try:
            return self.kind(raw.strip())
        except ValueError as exc:
            raise self.fail(key) from exc


class IPv4Type(AddressType):
    name = "ipv4"
    title = N_("IPv4 address")
    invalid = N_("Enter an IPv4 address, e.g. 192.0.2.1.")
    kind = ipaddress.IPv4Address


class IPv6Type(AddressType):
    name = "ipv6"
    title = N_("IPv6 address")
    invalid = N_("Enter an IPv6 address, e.g. 2001:db8::1.")
    kind = ipaddress.IPv6Address


class PrefixType(AddressType):
    """A network ``address/length``; an address with host bits set is refused, not masked."""

    def read(self, raw: Any, key: str) -> Any:
        if isinstance(raw, self.kind):
            return raw
        if not isinstance(raw, str) or "/" not in raw:
            raise self.fail(key)
        text = raw.strip()
        try:
            return self.kind(text)
        except ValueError as exc:
            try:
                network = self.kind(text, strict=False)
            except ValueError:
                raise self.fail(key) from exc
            raise self.fail(key, N_("%(value)s has host bits set; the prefix is %(network)s."),
                            value=text, network=str(network)) from exc


class IPv4PrefixType(PrefixType):
    name = "ipv4_prefix"
    title = N_("IPv4 prefix")
    invalid = N_("Enter an IPv4 prefix, e.g. 192.0.2.0/24.")
    kind = ipaddress.IPv4Network


class IPv6PrefixType(PrefixType):
    name = "ipv6_prefix"
    title = N_("IPv6 prefix")
    invalid = N_("Enter an IPv6 prefix, e.g. 2001:db8::/48.")
    kind = ipaddress.IPv6Network


class MacType(ParamType):
    """A MAC address in any common notation, kept as ``00:1a:2b:3c:4d:5e``."""

    name = "mac"
    title = N_("MAC address")
    invalid = N_("Enter a MAC address, e.g. 00:1a:2b:3c:4d:5e.")

    def convert(self, raw: Any, key: str) -> str:
        if not isinstance(raw, str) or not _MAC_RE.fullmatch(text := raw.strip().lower()):
            raise self.fail(key)
        digits = re.sub(r"[^0-9a-f]", "", text)
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


class DeviceType(ParamType):
    """A reference to a device by its id; whether it exists is asked of the ``device`` resolver."""

    name = "device"
    title = N_("Device")
    invalid = N_("Enter the number (ID) of a device.")

    def convert(self, raw: Any, key: str) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and (text := raw.strip()).isascii() and text.isdigit() and len(text) < 20:
            value = int(text)
        else:
            raise self.fail(key)
        if not 0 < value <= INT_LIMIT:
            raise self.fail(key)
        return value

    def resolve(self, pdef: ParamDef, value: int, resolvers: Resolvers) -> None:
        exists = resolvers.get(self.name)
        if exists is not None and not exists(value):
            raise self.fail(pdef.key, N_("Device %(id)s does not exist."), id=value)

    def to_json(self, value: int) -> int:
        return value


_TYPES: dict[str, ParamType] = {}


def register_type(param_type: ParamType) -> ParamType:
    """Make a type available to definitions; a name is registered once (plugins: at start-up)."""
    if param_type.name in _TYPES:
        raise DefinitionError(N_("Parameter type %(type)s is registered twice."), type=param_type.name)
    _TYPES[param_type.name] = param_type
    return param_type


def get_type(name: Any) -> ParamType:
    if not isinstance(name, str) or name not in _TYPES:
        raise DefinitionError(N_("Unknown parameter type %(type)s."), type=name)
    return _TYPES[name]


def param_types() -> dict[str, ParamType]:
    """Registered types by name, in registration order (for a type chooser)."""
    return dict(_TYPES)


for _type in (TextType, IntegerType, DecimalType, BooleanType, ChoiceType, DateType, IPv4Type, IPv6Type,
              IPv4PrefixType, IPv6PrefixType, MacType, DeviceType):
    register_type(_type())
