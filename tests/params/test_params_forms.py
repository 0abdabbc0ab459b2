"""Forms built from definitions: fields per type, server-side checks by the parameter parsers, Czech."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from wtforms import BooleanField, SelectField, StringField

from mango_core.params import ParamDef, ParamValidationError, validate_values
from mango_core.params.forms import attach_errors, build_form, field_for, form_values

NO_CSRF = {"csrf": False}
DEFS = [
    ParamDef("download", "Stahování", "integer", required=True, default=100, min=1, max=1000, unit="Mbit/s",
             help="Podle smlouvy."),
    ParamDef("technology", "Technologie", "choice", required=True, default="fiber",
             choices=(("fiber", "Optika"), ("wifi", "Wi-Fi"))),
    ParamDef("fee", "Příplatek", "decimal", places=2, min=0),
    ParamDef("public_ip", "Veřejná IP", "boolean", customer_editable=True),
    ParamDef("since", "Od", "date", min=date(2020, 1, 1)),
    ParamDef("wan", "Síť", "ipv4_prefix"),
    ParamDef("cpe", "Koncové zařízení", "device"),
    ParamDef("data", "Poznámka", "text", max=50, customer_editable=True),  # a key a form already has
]


def post(app, data: dict, **kwargs):
    """A bound form inside a POST request (the context stays open for the assertions)."""
    ctx = app.test_request_context("/", method="POST", data=data)
    ctx.push()
    form = build_form(DEFS, meta=NO_CSRF, **kwargs)
    return ctx, form


def test_fields_follow_the_definitions(app):
    with app.test_request_context("/"):
        form = build_form(DEFS, meta=NO_CSRF)
        fields = {field.name: field for field in form}
        assert list(fields) == ["p-download", "p-technology", "p-fee", "p-public_ip", "p-since", "p-wan", "p-cpe",
                                "p-data"]
        assert isinstance(fields["p-public_ip"], BooleanField)
        assert isinstance(fields["p-technology"], SelectField)
        choices = [tuple(choice)[:2] for choice in fields["p-technology"].choices]
        assert choices == [("fiber", "Optika"), ("wifi", "Wi-Fi")]  # required, with a default: no blank
        assert isinstance(fields["p-download"], StringField)
        assert fields["p-download"].label.text == "Stahování (Mbit/s)"
        assert fields["p-download"].description == "Podle smlouvy."
        assert fields["p-download"].data == "100"  # the default of a new object
        html = fields["p-download"]()
        assert 'type="number"' in html and 'min="1"' in html and 'max="1000"' in html and "required" in html
        assert 'step="0.01"' in fields["p-fee"]() and 'min="0"' in fields["p-fee"]()
        assert 'type="date"' in fields["p-since"]() and 'min="2020-01-01"' in fields["p-since"]()
        assert 'maxlength="50"' in fields["p-data"]()


def test_stored_values_fill_the_form(app):
    stored = validate_values(DEFS, {"download": 250, "fee": "9.5", "public_ip": True, "since": "2024-05-01",
                                    "technology": "wifi", "data": "x"})
    with app.test_request_context("/"):
        form = build_form(DEFS, stored, meta=NO_CSRF)
        assert form_values(form, DEFS) == {"download": "250", "technology": "wifi", "fee": "9.50",
                                           "public_ip": True, "since": "2024-05-01", "wan": "", "cpe": "",
                                           "data": "x"}
        assert validate_values(DEFS, form_values(form, DEFS)) == stored


def test_a_valid_post_feeds_validate_values(app):
    ctx, form = post(app, {"p-download": "300", "p-technology": "wifi", "p-fee": "12,5", "p-public_ip": "y",
                           "p-since": "2024-05-01", "p-wan": "198.51.100.0/29", "p-cpe": "7", "p-data": " ok "})
    try:
        assert form.validate(), form.errors
        assert validate_values(DEFS, form_values(form, DEFS)) == {
            "download": 300, "technology": "wifi", "fee": "12.50", "public_ip": True, "since": "2024-05-01",
            "wan": "198.51.100.0/29", "cpe": 7, "data": "ok",
        }
    finally:
        ctx.pop()


def test_errors_are_in_czech_by_default(app):
    ctx, form = post(app, {"p-download": "", "p-technology": "lte", "p-fee": "1,234", "p-since": "2019-12-31",
                           "p-wan": "198.51.100.1/29", "p-cpe": "8", "p-data": "x" * 51},
                     resolvers={"device": lambda device_id: device_id == 7})
    try:
        assert not form.validate()
        errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
        assert errors == {
            "param_download": ["Tato položka je povinná."],
            "param_technology": ["Vyberte jednu z hodnot: fiber, wifi."],
            "param_fee": ["Nejvýše 2 desetinných míst."],
            "param_since": ["Zadejte datum nejdříve 1. 1. 2020."],
            "param_wan": ["198.51.100.1/29 má nastavené bity hostitelské části; prefix je 198.51.100.0/29."],
            "param_cpe": ["Zařízení 8 neexistuje."],
            "param_data": ["Nejvýše 50 znaků."],
        }
    finally:
        ctx.pop()


def test_errors_in_english_on_request(app):
    ctx, form = post(app, {"p-download": "lots", "p-technology": "fiber"})
    try:
        with force_locale("en"):
            assert not form.validate()
            assert form["param_download"].errors == ["Enter a whole number."]
    finally:
        ctx.pop()


def test_selfcare_form_has_only_customer_editable_parameters(app):
    ctx = app.test_request_context("/", method="POST", data={"p-data": "moje poznámka"})
    with ctx:
        form = build_form(DEFS, {"public_ip": True, "data": "stará"}, only_customer_editable=True, meta=NO_CSRF)
        assert [field.name for field in form] == ["p-public_ip", "p-data"]
        assert form.validate()
        entered = form_values(form, DEFS)
        assert entered == {"public_ip": False, "data": "moje poznámka"}  # the box was unticked
        assert validate_values(DEFS, entered, partial=True) == {"public_ip": False, "data": "moje poznámka"}


@pytest.mark.parametrize("prefix", ["svc", "dev_3"])
def test_prefix_keeps_several_forms_apart(app, prefix):
    ctx = app.test_request_context("/", method="POST", data={f"{prefix}-download": "5", "p-download": "6",
                                                             f"{prefix}-technology": "fiber"})
    with ctx:
        form = build_form(DEFS, prefix=prefix, meta=NO_CSRF)
        assert form.validate()
        assert form_values(form, DEFS)["download"] == "5"


def test_errors_of_validate_values_are_shown_at_their_fields(app):
    ctx, form = post(app, {"p-download": "5", "p-technology": "fiber", "p-cpe": "9"})
    try:
        assert form.validate()  # no resolver in the form: the shape is right
        with pytest.raises(ParamValidationError) as info:
            validate_values(DEFS, {**form_values(form, DEFS), "vlan": "7"},
                            resolvers={"device": lambda device_id: False})
        rest = attach_errors(form, info.value.errors)
        assert field_for(form, "cpe").errors == ["Zařízení 9 neexistuje."]
        assert rest == {"vlan": "Neznámý parametr vlan."}
        assert field_for(form, "vlan") is None
    finally:
        ctx.pop()
