"""Parameter types: good input normalised, garbage refused with ParamValueError only, JSON round trip."""

from __future__ import annotations

import ipaddress
import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_core.params import (
    DefinitionError,
    ParamDef,
    ParamType,
    ParamValueError,
    param_types,
    register_type,
)
from mango_core.params import types as param_types_module
from mango_core.params.types import INT_LIMIT, TEXT_MAX_LENGTH

CHOICES = (("fiber", "Optika"), ("wifi", "Wi-Fi"), ("dsl", "xDSL"))


def loose(type_name: str) -> ParamDef:
    """The least restrictive definition of a type."""
    return ParamDef("p", "Parametr", type_name, choices=CHOICES if type_name == "choice" else ())


ALL_TYPES = ["text", "integer", "decimal", "boolean", "choice", "date", "ipv4", "ipv6", "ipv4_prefix",
             "ipv6_prefix", "mac", "device"]


def test_builtin_types_are_registered():
    assert list(param_types()) == ALL_TYPES


GOOD = [
    ("text", "  Praha 4  ", "Praha 4"),
    ("text", "řádek 1\nřádek 2", "řádek 1\nřádek 2"),
    ("text", 42, "42"),
    ("integer", "42", 42),
    ("integer", " -7 ", -7),
    ("integer", "+3", 3),
    ("integer", "1 000 000", 1000000),
    ("integer", "1\u00a0000", 1000),
    ("integer", 12, 12),
    ("integer", str(INT_LIMIT), INT_LIMIT),
    ("decimal", "12,5", Decimal("12.5")),
    ("decimal", "12.50", Decimal("12.50")),
    ("decimal", "1 234,5", Decimal("1234.5")),
    ("decimal", "-0", Decimal("0")),
    ("decimal", 7, Decimal(7)),
    ("decimal", Decimal("1E+3"), Decimal("1000")),
    ("boolean", True, True),
    ("boolean", "ano", True),
    ("boolean", "NO", False),
    ("boolean", "0", False),
    ("choice", " wifi ", "wifi"),
    ("date", "2024-02-29", date(2024, 2, 29)),
    ("date", "1. 5. 2024", date(2024, 5, 1)),
    ("date", "01.05.2024", date(2024, 5, 1)),
    ("date", date(2030, 1, 1), date(2030, 1, 1)),
    ("ipv4", " 192.0.2.1 ", ipaddress.IPv4Address("192.0.2.1")),
    ("ipv6", "2001:DB8:0:0::1", ipaddress.IPv6Address("2001:db8::1")),
    ("ipv4_prefix", "192.0.2.0/24", ipaddress.IPv4Network("192.0.2.0/24")),
    ("ipv4_prefix", "10.0.0.0/255.255.0.0", ipaddress.IPv4Network("10.0.0.0/16")),
    ("ipv4_prefix", "10.0.0.1/32", ipaddress.IPv4Network("10.0.0.1/32")),
    ("ipv6_prefix", "2001:DB8::/48", ipaddress.IPv6Network("2001:db8::/48")),
    ("mac", "00:1A:2B:3C:4D:5E", "00:1a:2b:3c:4d:5e"),
    ("mac", "00-1a-2b-3c-4d-5e", "00:1a:2b:3c:4d:5e"),
    ("mac", "001a.2b3c.4d5e", "00:1a:2b:3c:4d:5e"),
    ("mac", "001A2B3C4D5E", "00:1a:2b:3c:4d:5e"),
    ("device", "17", 17),
    ("device", 17, 17),
]


@pytest.mark.parametrize(("type_name", "raw", "value"), GOOD)
def test_good_input_is_normalised(type_name, raw, value):
    assert loose(type_name).parse(raw) == value


BAD = [
    ("text", None, "Enter text."),
    ("text", b"bytes", "Enter text."),
    ("text", "nul\x00", "not allowed"),
    ("text", "lone \ud800 surrogate", "not allowed"),
    ("text", "x" * (TEXT_MAX_LENGTH + 1), "At most 2000 characters."),
    ("integer", "4.2", "Enter a whole number."),
    ("integer", "1e3", "Enter a whole number."),
    ("integer", "1 00", "Enter a whole number."),
    ("integer", "٤٢", "Enter a whole number."),  # Arabic-Indic digits are digits to Python, not to us
    ("integer", True, "Enter a whole number."),
    ("integer", 4.0, "Enter a whole number."),
    ("integer", str(INT_LIMIT + 1), "too large"),
    ("integer", "9" * 5000, "too large"),
    ("decimal", 1.5, "Enter a number"),
    ("decimal", "NaN", "Enter a number"),
    ("decimal", Decimal("Infinity"), "Enter a number"),
    ("decimal", Decimal("sNaN"), "Enter a number"),
    ("decimal", "1,2,3", "Enter a number"),
    ("decimal", "1e5", "Enter a number"),
    ("decimal", "1" * 19, "too large"),
    ("decimal", "0." + "1" * 11, "At most 10 decimal places."),
    ("boolean", "maybe", "Enter yes or no."),
    ("boolean", 1, "Enter yes or no."),
    ("choice", "adsl", "Choose one of: fiber, wifi, dsl."),
    ("choice", 3, "Choose one of the offered values."),
    ("date", "2023-02-29", "Enter a date"),
    ("date", "31. 4. 2024", "Enter a date"),
    ("date", "0000-01-01", "Enter a date"),
    ("date", "2024/05/01", "Enter a date"),
    ("date", datetime(2024, 5, 1, 12, 0), "Enter a date"),
    ("ipv4", "256.0.0.1", "Enter an IPv4 address"),
    ("ipv4", "010.0.0.1", "Enter an IPv4 address"),
    ("ipv4", 3232235777, "Enter an IPv4 address"),
    ("ipv4", "2001:db8::1", "Enter an IPv4 address"),
    ("ipv6", "192.0.2.1", "Enter an IPv6 address"),
    ("ipv6", "fe80::1%eth0", "Enter an IPv6 address"),
    ("ipv6", ipaddress.IPv6Address("fe80::1%\x00"), "Enter an IPv6 address"),
    ("ipv6_prefix", "fe80::%eth0/64", "Enter an IPv6 prefix"),
    ("ipv4_prefix", "192.0.2.1", "Enter an IPv4 prefix"),
    ("ipv4_prefix", "192.0.2.1/24", "192.0.2.1/24 has host bits set; the prefix is 192.0.2.0/24."),
    ("ipv4_prefix", "192.0.2.0/33", "Enter an IPv4 prefix"),
    ("ipv6_prefix", "2001:db8::1/64", "the prefix is 2001:db8::/64"),
    ("ipv6_prefix", "192.0.2.0/24", "Enter an IPv6 prefix"),
    ("mac", "00:1a:2b:3c:4d", "Enter a MAC address"),
    ("mac", "00:1a-2b:3c:4d:5e", "Enter a MAC address"),
    ("mac", "00:1a:2b:3c:4d:5g", "Enter a MAC address"),
    ("device", "0", "Enter the number (ID) of a device."),
    ("device", -5, "Enter the number (ID) of a device."),
    ("device", "１２", "Enter the number (ID) of a device."),
    ("device", True, "Enter the number (ID) of a device."),
]


@pytest.mark.parametrize(("type_name", "raw", "needle"), BAD)
def test_garbage_is_refused_with_a_clear_message(type_name, raw, needle):
    with pytest.raises(ParamValueError, match=needle.replace("(", r"\(").replace(")", r"\)")) as info:
        loose(type_name).parse(raw)
    assert info.value.key == "p"


def test_rules_of_the_definition():
    speed = ParamDef("speed", "Rychlost", "integer", min=1, max=1000)
    assert speed.parse("1000") == 1000
    with pytest.raises(ParamValueError, match="at least 1"):
        speed.parse("0")
    with pytest.raises(ParamValueError, match="at most 1,000"):  # bounds shown in the reader's locale
        speed.parse("1001")
    name = ParamDef("name", "Jméno", "text", min=2, max=5, regex=r"[A-Z][a-z]*")
    assert name.parse("Eva") == "Eva"
    for raw, needle in [("E", "At least 2"), ("Evelina", "At most 5"), ("eva", "required format")]:
        with pytest.raises(ParamValueError, match=needle):
            name.parse(raw)
    price = ParamDef("price", "Cena", "decimal", places=2, min="0.01")
    assert price.parse("10") == Decimal("10.00") and str(price.parse("10")) == "10.00"
    with pytest.raises(ParamValueError, match="At most 2 decimal places."):
        price.parse("9,999")  # never rounded silently
    with pytest.raises(ParamValueError, match="at least 0.01"):
        price.parse("0")
    start = ParamDef("start", "Začátek", "date", min="2024-01-01", max=date(2024, 12, 31))
    with pytest.raises(ParamValueError, match="on or after Jan 1, 2024"):
        start.parse("31. 12. 2023")
    with pytest.raises(ParamValueError, match="on or before Dec 31, 2024"):
        start.parse("2025-01-01")


def test_device_existence_is_asked_of_the_resolver():
    device = loose("device")
    known = {5, 7}
    resolvers = {"device": known.__contains__}
    assert device.parse("5", resolvers=resolvers) == 5
    with pytest.raises(ParamValueError, match="Device 6 does not exist."):
        device.parse("6", resolvers=resolvers)
    assert device.parse("6") == 6  # no resolver: the shape only (the caller checks before storing)


@pytest.mark.parametrize(("pdef", "value", "cs", "en"), [
    (ParamDef("speed", "Rychlost", "integer", unit="Mbit/s"), 1000, "1\u00a0000\u00a0Mbit/s", "1,000\u00a0Mbit/s"),
    (ParamDef("fee", "Poplatek", "decimal", places=2, unit="Kč"), Decimal("1234.50"), "1\u00a0234,50\u00a0Kč",
     "1,234.50\u00a0Kč"),
    (ParamDef("ratio", "Poměr", "decimal"), Decimal("0.125"), "0,125", "0.125"),
    (ParamDef("tech", "Technologie", "choice", choices=CHOICES), "wifi", "Wi-Fi", "Wi-Fi"),
    (ParamDef("since", "Od", "date"), date(2024, 5, 1), "1. 5. 2024", "May 1, 2024"),
    (ParamDef("net", "Síť", "ipv6_prefix"), ipaddress.IPv6Network("2001:db8::/48"), "2001:db8::/48", "2001:db8::/48"),
    (ParamDef("note", "Poznámka", "text"), None, "", ""),
])
def test_display_in_the_locale(pdef, value, cs, en):
    assert pdef.display(value, "cs") == cs
    assert pdef.display(value, "en") == en


def test_boolean_display_is_translated(app):
    yes = ParamDef("public_ip", "Veřejná IP", "boolean")
    assert yes.display(True, "cs") == "yes"  # no application: the source text
    with app.app_context():
        assert yes.display(True, "cs") == "ano"
        assert yes.display(False, "cs") == "ne"
        assert yes.display(False, "en") == "no"


# --- properties --------------------------------------------------------------------------------

anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.decimals(), st.text(), st.binary(),
    st.dates(), st.datetimes(), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(), st.text(), max_size=2),
    st.text(alphabet="0123456789abcdefABCDEF:.-/ ,+%\u00a0\x00", max_size=45),
    st.from_regex(r"[0-9]{1,4}[.-][0-9]{1,2}[.-] ?[0-9]{1,4}", fullmatch=True),
)


@pytest.mark.parametrize("type_name", ALL_TYPES)
@given(raw=anything)
@settings(max_examples=300)
def test_anything_is_parsed_or_refused_with_param_value_error(type_name, raw):
    pdef = loose(type_name)
    try:
        value = pdef.parse(raw)
    except ParamValueError:
        return
    encoded = json.dumps(pdef.to_json(value), ensure_ascii=False)
    assert "\\u0000" not in encoded and encoded.encode()  # PostgreSQL's jsonb takes it
    stored = json.loads(encoded)
    assert pdef.from_json(stored) == value
    assert pdef.parse(stored) == value  # a stored value passes its own definition again


def mac_text(octets: bytes, sep: str) -> str:
    hexed = octets.hex()
    if sep == ".":
        return ".".join(hexed[i:i + 4] for i in range(0, 12, 4))
    return sep.join(hexed[i:i + 2] for i in range(0, 12, 2))


VALUES = {
    "text": st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=50).map(str.strip),
    "integer": st.integers(-INT_LIMIT, INT_LIMIT),
    "decimal": st.decimals(min_value=-10**17, max_value=10**17, places=4),
    "boolean": st.booleans(),
    "choice": st.sampled_from([value for value, _ in CHOICES]),
    "date": st.dates(),
    "ipv4": st.ip_addresses(v=4),
    "ipv6": st.ip_addresses(v=6),
    "ipv4_prefix": st.builds(lambda a, n: ipaddress.ip_network(f"{a}/{n}", strict=False),
                             st.ip_addresses(v=4), st.integers(0, 32)),
    "ipv6_prefix": st.builds(lambda a, n: ipaddress.ip_network(f"{a}/{n}", strict=False),
                             st.ip_addresses(v=6), st.integers(0, 128)),
    "mac": st.builds(mac_text, st.binary(min_size=6, max_size=6), st.sampled_from([":", "-", ".", ""])),
    "device": st.integers(1, INT_LIMIT),
}


@pytest.mark.parametrize("type_name", ALL_TYPES)
@given(data=st.data())
def test_json_round_trip(type_name, data):
    pdef = loose(type_name)
    value = pdef.parse(data.draw(VALUES[type_name]))
    stored = json.loads(json.dumps(pdef.to_json(value)))
    assert pdef.from_json(stored) == value
    assert pdef.parse(stored) == value
    assert isinstance(pdef.display(value, "cs"), str)


@given(value=st.decimals(min_value=-10**17, max_value=10**17, places=2))
def test_decimal_user_text_in_czech_form(value):
    """What the Czech UI shows (grouped, decimal comma) is read back to the same value."""
    pdef = ParamDef("fee", "Poplatek", "decimal", places=2)
    assert pdef.parse(pdef.display(value, "cs")) == value
    assert pdef.parse(format(value, "f").replace(".", ",")) == value


def test_a_plugin_registers_its_own_type(monkeypatch):
    monkeypatch.setattr(param_types_module, "_TYPES", dict(param_types_module._TYPES))

    class VlanType(ParamType):
        name = "vlan"
        title = "VLAN"
        invalid = "Enter a VLAN id from 1 to 4094."

        def convert(self, raw, key):
            value = param_types_module.get_type("integer").convert(raw, key)
            if not 1 <= value <= 4094:
                raise self.fail(key)
            return value

        def to_json(self, value):
            return value

    register_type(VlanType())
    vlan = ParamDef("vlan", "VLAN", "vlan", default="100")
    assert vlan.default == 100 and ParamDef.from_dict(vlan.to_dict()) == vlan
    with pytest.raises(ParamValueError, match="VLAN id"):
        vlan.parse("4095")
    with pytest.raises(DefinitionError, match="registered twice"):
        register_type(VlanType())
