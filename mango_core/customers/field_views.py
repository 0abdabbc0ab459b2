"""The partner's editor of custom customer fields (typed parameters, versioned).

A field is added or replaced by its key and removed by its key; each change makes a new version
of the partner's definitions. Customers keep their values; the next edit of a customer checks
them against the new definitions.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mango_core.auth.access import permission_required
from mango_core.customers import fields, forms
from mango_core.customers.views import bp
from mango_core.params import DefinitionError, ParamDef, param_types
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.forms import form_error
from mango_core.web.request import db

FIELDS = "core.customer_fields.manage"
# Customer fields are plain values; references to devices belong to services and devices.
OFFERED_TYPES = ("text", "integer", "decimal", "boolean", "choice", "date", "ipv4", "ipv6", "mac")


def _type_choices() -> list[tuple[str, str]]:
    known = param_types()
    return [(name, str(getattr(known[name], "title", name))) for name in OFFERED_TYPES if name in known]


def _choices(text: str | None) -> list[list[str]]:
    pairs = []
    for line in (text or "").splitlines():
        if line.strip():
            value, _sep, label = line.partition("=")
            pairs.append([value.strip(), (label or value).strip()])
    return pairs


def _definition(form: forms.FieldDefForm) -> ParamDef:
    data: dict[str, Any] = {"key": (form.key.data or "").strip(), "label": (form.label.data or "").strip(),
                            "type": form.type.data, "required": form.required.data,
                            "unit": (form.unit.data or "").strip(), "help": (form.help.data or "").strip()}
    if form.choices.data and form.choices.data.strip():
        data["choices"] = _choices(form.choices.data)
    for bound in ("min", "max", "regex"):
        value = (getattr(form, bound).data or "").strip()
        if value:
            data[bound] = value
    return ParamDef.from_dict(data)


def _page(form: forms.FieldDefForm, status: int = 200):  # noqa: ANN202
    return render_template("customers/fields.html", defs=fields.definitions(db()), form=form,
                           confirm=forms.ConfirmForm(), types=dict(_type_choices())), status


@bp.get("/fields")
@permission_required(FIELDS)
def fields_page():  # noqa: ANN201
    form = forms.FieldDefForm()
    form.type.choices = _type_choices()
    editing = fields.definitions(db()).get(request.args.get("edit", ""))
    if editing is not None:
        data = editing.to_dict()
        for name in ("key", "label", "type", "required", "unit", "help", "regex"):
            getattr(form, name).data = data.get(name)
        form.min.data = "" if data["min"] is None else str(data["min"])
        form.max.data = "" if data["max"] is None else str(data["max"])
        form.choices.data = "\n".join(f"{value}={label}" for value, label in data["choices"])
    return _page(form)


@bp.post("/fields")
@permission_required(FIELDS)
def field_save():  # noqa: ANN201
    form = forms.FieldDefForm()
    form.type.choices = _type_choices()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        pdef = _definition(form)
    except (DefinitionError, InvalidValue) as exc:
        form_error(form, exc)
        return _page(form, 400)
    current = list(fields.definitions(db()))
    replaced = [pdef if p.key == pdef.key else p for p in current]
    if pdef.key not in {p.key for p in current}:
        replaced.append(pdef)
    try:
        new = fields.save_definitions(db(), replaced, actor=current_user.id)
    except InvalidValue as exc:
        db().rollback()
        form_error(form, exc)
        return _page(form, 400)
    db().commit()
    flash(_("Custom field %(key)s saved (version %(version)s).", key=pdef.key, version=new.version), "success")
    return redirect(url_for(".fields_page"))


@bp.post("/fields/<key>/remove")
@permission_required(FIELDS)
def field_remove(key: str):  # noqa: ANN201
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    current = list(fields.definitions(db()))
    if key not in {p.key for p in current}:
        abort(404)
    new = fields.save_definitions(db(), [p for p in current if p.key != key], actor=current_user.id)
    db().commit()
    flash(_("Custom field %(key)s removed (version %(version)s).", key=key, version=new.version), "success")
    return redirect(url_for(".fields_page"))
