"""Parameter definitions check themselves; JSON round trip; versioned definition sets."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_core.params import DefinitionError, DefinitionSet, ParamDef

SPEED = ParamDef("download", "Rychlost stahování", "integer", required=True, default=100, min=1, max=10_000,
                 unit="Mbit/s", customer_editable=False, on_invoice=True, help="Podle smlouvy.")
TECH = ParamDef("technology", "Technologie", "choice", choices=(("fiber", "Optika"), ("wifi", "Wi-Fi")),
                default="fiber")
FEE = ParamDef("fee", "Poplatek", "decimal", places=2, min="0", default="99.9")
SINCE = ParamDef("since", "Od", "date", min=date(2020, 1, 1), default="1. 1. 2024")
WAN = ParamDef("wan", "Veřejná síť", "ipv4_prefix", default="198.51.100.0/29")
LOGIN = ParamDef("login", "Login", "text", min=3, max=20, regex=r"[a-z0-9.]+", customer_editable=True)


@pytest.mark.parametrize("pdef", [SPEED, TECH, FEE, SINCE, WAN, LOGIN])
def test_json_round_trip(pdef):
    data = json.loads(json.dumps(pdef.to_dict()))
    assert ParamDef.from_dict(data) == pdef
    assert ParamDef.from_dict(data).to_dict() == data


def test_definition_is_normalised():
    assert FEE.default == Decimal("99.90") and FEE.to_dict()["default"] == "99.90"
    assert SINCE.default == date(2024, 1, 1) and SINCE.to_dict()["min"] == "2020-01-01"
    assert TECH.to_dict()["choices"] == [["fiber", "Optika"], ["wifi", "Wi-Fi"]]
    blank = ParamDef("a", "  A  ", "text", default="  ", regex="", min="", max=" ")
    assert blank == ParamDef("a", "A", "text")
    typed = ParamDef.from_dict({"key": "a", "label": "A", "type": "text", "min": "3", "max": " 20 "})
    assert (typed.min, typed.max) == (3, 20)  # as a definition form sends them
    assert ParamDef("a", "A", "choice", choices=[[" x ", " X "]]).choices == (("x", "X"),)


@pytest.mark.parametrize(("data", "needle"), [
    ([], "must be a JSON object"),
    ({"key": "a", "label": "A"}, "needs type"),
    ({"key": "a", "label": "A", "type": "text", "colour": "red"}, "Unknown fields in a parameter definition: colour"),
    ({"key": "Speed", "label": "A", "type": "text"}, "Speed is not a valid parameter key"),
    ({"key": "1st", "label": "A", "type": "text"}, "not a valid parameter key"),
    ({"key": "a" * 41, "label": "A", "type": "text"}, "not a valid parameter key"),
    ({"key": "a\n", "label": "A", "type": "text"}, "not a valid parameter key"),
    ({"key": "a", "label": " ", "type": "text"}, "needs a label"),
    ({"key": "a", "label": "A", "type": "colour"}, "Unknown parameter type colour"),
    ({"key": "a", "label": "A", "type": ["text"]}, "Unknown parameter type"),
    ({"key": "a", "label": "A", "type": "text", "required": "yes"}, "required of parameter a must be true or false"),
    ({"key": "a", "label": "A", "type": "text", "unit": None}, "unit of parameter a must be text"),
    ({"key": "a", "label": "A", "type": "integer", "min": 10, "max": 1}, "minimum of parameter a is greater"),
    ({"key": "a", "label": "A", "type": "date", "min": "2024-02-01", "max": "2024-01-01"}, "greater than its maximum"),
    ({"key": "a", "label": "A", "type": "integer", "min": "ten"}, "minimum of parameter a is not valid: Enter a whole"),
    ({"key": "a", "label": "A", "type": "integer", "max": 1.5}, "maximum of parameter a is not valid"),
    ({"key": "a", "label": "A", "type": "text", "max": -1}, "A length is a whole number from 0 to 2000"),
    ({"key": "a", "label": "A", "type": "text", "max": "long"}, "A length is a whole number from 0 to 2000"),
    ({"key": "a", "label": "A", "type": "text", "max": True}, "A length is a whole number from 0 to 2000"),
    ({"key": "a", "label": "A", "type": "boolean", "min": 1}, "type boolean cannot have a minimum"),
    ({"key": "a", "label": "A", "type": "integer", "default": 0, "min": 1}, "default of parameter a is not valid"),
    ({"key": "a", "label": "A", "type": "text", "default": "abc", "regex": "[0-9]+"}, "default of parameter a"),
    ({"key": "a", "label": "A", "type": "text", "regex": "(unclosed"}, "not a valid regular expression"),
    ({"key": "a", "label": "A", "type": "text", "regex": 5}, "pattern of parameter a must be text"),
    ({"key": "a", "label": "A", "type": "integer", "regex": "[0-9]+"}, "type integer cannot have regex"),
    ({"key": "a", "label": "A", "type": "choice"}, "needs at least one choice"),
    ({"key": "a", "label": "A", "type": "choice", "choices": [["x"]]}, "pairs of a value and a label"),
    ({"key": "a", "label": "A", "type": "choice", "choices": [["x", ""]]}, "pairs of a value and a label"),
    ({"key": "a", "label": "A", "type": "choice", "choices": "xy"}, "pairs of a value and a label"),
    ({"key": "a", "label": "A", "type": "choice", "choices": [["x", "X"], ["x", "Y"]]}, "offers the value x twice"),
    ({"key": "a", "label": "A", "type": "choice", "choices": [["x", "X"]], "default": "y"}, "Choose one of: x"),
    ({"key": "a", "label": "A", "type": "text", "choices": [["x", "X"]]}, "type text cannot have choices"),
    ({"key": "a", "label": "A", "type": "decimal", "places": 11}, "from 0 to 10"),
    ({"key": "a", "label": "A", "type": "decimal", "places": True}, "from 0 to 10"),
    ({"key": "a", "label": "A", "type": "integer", "places": 2}, "type integer cannot have places"),
    ({"key": "a", "label": "A", "type": "decimal", "places": 1, "default": "1.25"}, "At most 1 decimal places"),
    ({"key": "a", "label": "A", "type": "ipv4_prefix", "default": "10.0.0.1/8"}, "host bits set"),
])
def test_bad_definitions_are_refused_clearly(data, needle):
    with pytest.raises(DefinitionError, match=needle):
        ParamDef.from_dict(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
FIELDS = ["key", "label", "type", "required", "default", "min", "max", "regex", "choices", "places", "unit",
          "customer_editable", "on_invoice", "help", "bogus"]


@given(
    base=st.fixed_dictionaries({"key": st.sampled_from(["a", "speed", "Bad"]), "label": st.just("A"),
                                "type": st.sampled_from(["text", "integer", "decimal", "choice", "date", "mac",
                                                         "boolean", "unknown"])}),
    extra=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
)
@settings(max_examples=500)
def test_any_json_is_a_definition_or_a_definition_error(base, extra):
    try:
        pdef = ParamDef.from_dict({**base, **extra})
    except DefinitionError:
        return
    assert ParamDef.from_dict(json.loads(json.dumps(pdef.to_dict()))) == pdef


def test_definition_set_versions():
    v1 = DefinitionSet((SPEED, TECH))
    assert v1.version == 1 and len(v1) == 2 and list(v1) == [SPEED, TECH]
    assert "download" in v1 and v1.get("technology") is TECH and v1.get("nope") is None
    assert v1.keys() == ["download", "technology"]
    assert v1.changed([SPEED, TECH]) is v1  # nothing changed, no new version
    v2 = v1.changed([SPEED, TECH, FEE])
    assert v2.version == 2 and v2.keys() == ["download", "technology", "fee"]
    assert v2.changed([FEE]).version == 3
    assert DefinitionSet.from_dict(json.loads(json.dumps(v2.to_dict()))) == v2


@pytest.mark.parametrize(("build", "needle"), [
    (lambda: DefinitionSet((SPEED, SPEED)), "download is defined twice"),
    (lambda: DefinitionSet(("download",)), "parameter definitions only"),
    (lambda: DefinitionSet((SPEED,), 0), "whole number from 1"),
    (lambda: DefinitionSet.from_dict({"params": []}), "version and a list"),
    (lambda: DefinitionSet.from_dict({"version": "2", "params": []}), "whole number from 1"),
    (lambda: DefinitionSet.from_dict({"version": 1, "params": [{"key": "x"}]}), "needs label, type"),
])
def test_bad_definition_sets(build, needle):
    with pytest.raises(DefinitionError, match=needle):
        build()
