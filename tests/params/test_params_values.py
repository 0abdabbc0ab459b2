"""Checking whole sets of values (all errors at once) and carrying them to a new class version."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mango_core.params import (
    DefinitionSet,
    ParamDef,
    ParamValidationError,
    coerce_for_new_version,
    invalid_values,
    validate_values,
)

INTERNET = DefinitionSet((
    ParamDef("download", "Stahování", "integer", required=True, default=100, min=1, max=1000, unit="Mbit/s"),
    ParamDef("technology", "Technologie", "choice", required=True,
             choices=(("fiber", "Optika"), ("wifi", "Wi-Fi"), ("dsl", "xDSL"))),
    ParamDef("fee", "Příplatek", "decimal", places=2),
    ParamDef("public_ip", "Veřejná IP", "boolean"),
    ParamDef("address", "IP adresa", "ipv4"),
    ParamDef("cpe", "Koncové zařízení", "device"),
    ParamDef("login", "Login", "text", max=20, customer_editable=True),
))


def test_values_are_normalised_json_with_defaults():
    values = validate_values(INTERNET, {"technology": "wifi", "fee": "12,5", "public_ip": "ano",
                                        "address": "192.0.2.10", "cpe": "7", "login": "  novak "})
    assert values == {"download": 100, "technology": "wifi", "fee": "12.50", "public_ip": True,
                      "address": "192.0.2.10", "cpe": 7, "login": "novak"}
    assert json.loads(json.dumps(values)) == values


def test_missing_optional_values_are_none_and_booleans_false():
    assert validate_values(INTERNET, {"technology": "dsl"}) == {
        "download": 100, "technology": "dsl", "fee": None, "public_ip": False, "address": None, "cpe": None,
        "login": None,
    }


def test_every_error_is_reported_at_once():
    with pytest.raises(ParamValidationError) as info:
        validate_values(INTERNET, {"download": "0", "fee": "1,234", "address": "192.0.2.300", "cpe": "x",
                                   "speed": "100", "login": ""})
    assert info.value.errors == {
        "download": "Enter a number of at least 1.",
        "technology": "This field is required.",
        "fee": "At most 2 decimal places.",
        "address": "Enter an IPv4 address, e.g. 192.0.2.1.",
        "cpe": "Enter the number (ID) of a device.",
        "speed": "Unknown parameter speed.",
    }
    assert "technology: This field is required." in str(info.value)


def test_a_value_given_empty_clears_it_and_required_ones_cannot_be_cleared():
    with pytest.raises(ParamValidationError) as info:
        validate_values(INTERNET, {"download": " ", "technology": "fiber"})
    assert info.value.errors == {"download": "This field is required."}


def test_partial_checks_only_the_keys_given():
    assert validate_values(INTERNET, {"login": "eva"}, partial=True) == {"login": "eva"}
    assert validate_values(INTERNET, {"fee": ""}, partial=True) == {"fee": None}
    with pytest.raises(ParamValidationError) as info:
        validate_values(INTERNET, {"technology": "", "nope": 1}, partial=True)
    assert set(info.value.errors) == {"technology", "nope"}


def test_devices_are_checked_by_the_resolver():
    resolvers = {"device": lambda device_id: device_id == 7}
    assert validate_values(INTERNET, {"technology": "dsl", "cpe": 7}, resolvers=resolvers)["cpe"] == 7
    with pytest.raises(ParamValidationError) as info:
        validate_values(INTERNET, {"technology": "dsl", "cpe": 8}, resolvers=resolvers)
    assert info.value.errors == {"cpe": "Device 8 does not exist."}


@pytest.mark.parametrize("raw", [None, [], "download=1", 5])
def test_values_must_be_a_mapping(raw):
    with pytest.raises(ParamValidationError, match="must be an object"):
        validate_values(INTERNET, raw)


def test_czech_messages_in_a_request(app):
    with app.test_request_context("/"):
        with pytest.raises(ParamValidationError) as info:
            validate_values(INTERNET, {"download": "5000", "technology": "lte", "address": "x"})
        assert str(info.value).startswith("Některé hodnoty parametrů nejsou platné. download: Zadejte")
    assert info.value.errors == {
        "download": "Zadejte číslo nejvýše 1\u00a0000.",
        "technology": "Vyberte jednu z hodnot: fiber, wifi, dsl.",
        "address": "Zadejte IPv4 adresu, např. 192.0.2.1.",
    }


@given(raw=st.dictionaries(st.sampled_from(INTERNET.keys() + ["other"]),
                           st.one_of(st.none(), st.text(max_size=20), st.integers(), st.booleans(), st.floats()),
                           max_size=8))
def test_any_input_gives_values_or_a_validation_error(raw):
    try:
        values = validate_values(INTERNET, raw)
    except ParamValidationError as exc:
        assert exc.errors and set(exc.errors) <= set(raw) | {"technology"}
        return
    assert validate_values(INTERNET, values) == values  # stored values stay valid


# --- versions ------------------------------------------------------------------------------------

def test_a_new_version_keeps_valid_values_and_flags_the_rest():
    stored = validate_values(INTERNET, {"download": 500, "technology": "dsl", "fee": "10", "login": "eva",
                                        "address": "192.0.2.1"})
    v2 = INTERNET.changed([
        ParamDef("download", "Stahování", "integer", required=True, default=100, min=1, max=300),  # tighter
        ParamDef("technology", "Technologie", "choice", required=True,
                 choices=(("fiber", "Optika"), ("wifi", "Wi-Fi"))),  # dsl withdrawn
        ParamDef("fee", "Příplatek", "decimal", places=2),  # unchanged
        ParamDef("login", "Login", "text", max=2),  # too short now
        ParamDef("address", "IP adresa", "text"),  # type changed, the value still fits
        ParamDef("vlan", "VLAN", "integer", default=10),  # new, with a default
        ParamDef("contract", "Smlouva", "text", required=True),  # new, required, no default
    ])  # public_ip and cpe removed
    assert v2.version == 2
    values, attention = coerce_for_new_version(stored, v2)
    assert values == {"fee": "10.00", "address": "192.0.2.1", "vlan": 10}
    assert attention == {
        "download": "Enter a number of at most 300.",
        "technology": "Choose one of: fiber, wifi.",
        "login": "At most 2 characters.",
        "contract": "This field is required.",
    }
    assert invalid_values(stored, v2) == attention
    assert invalid_values(stored, INTERNET) == {}
    assert validate_values(v2, {**values, "download": 300, "technology": "fiber", "login": "ev",
                                "contract": "S-1"})["download"] == 300


def test_integer_values_survive_a_change_to_decimal_or_text():
    stored = {"n": 5}
    for new in (ParamDef("n", "N", "decimal", places=1), ParamDef("n", "N", "text")):
        values, attention = coerce_for_new_version(stored, [new])
        assert attention == {} and new.from_json(values["n"]) == new.parse(5)
