"""Opcare pages of the IPAM: prefixes and pools with their usage, a prefix with its assignments and
CGNAT configuration, the lookup "who had an address at a time", and the forms of the customer
card's network tab (assign, release, bind a MAC).

Objects named in a URL are looked up through the tenant-guarded session (another location's
answer 404). Every change is a POST with a CSRF token and goes through the service modules; their
errors come back as form errors (or flashed messages) in the user's language.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from mango_core.auth.access import permission_required
from mango_core.db import utcnow
from mango_core.devices import service as devices
from mango_core.tenancy.validators import N_, InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import options, save
from mango_core.web.request import db
from mango_isp.ipam import addresses as ad
from mango_isp.ipam import assignments, forms, lookup, nat
from mango_isp.ipam import prefixes as px
from mango_isp.times import local_text, parse_moment

bp = Blueprint("isp_ipam", __name__, url_prefix="/isp/ipam", template_folder="../templates")

VIEW, MANAGE = "isp.ipam.view", "isp.ipam.manage"
CARD_TAB = "isp_network"


def _or_404(call, *args):  # noqa: ANN001, ANN002, ANN202
    try:
        return call(db(), *args)
    except px.NotFound:
        abort(404)


def _confirmed() -> None:
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)


def _site_choices() -> list:
    return options([("", "—")] + [(str(s.id), s.name) for s in devices.list_sites(db())])


def _actor() -> int:
    return current_user.id


# --- prefixes -------------------------------------------------------------------------------------


@bp.get("/")
@permission_required(VIEW)
def prefixes():  # noqa: ANN201
    family = request.args.get("family", "")
    session = db()
    rows = px.list_prefixes(session, family=int(family) if family in ("4", "6") else None)
    depth: dict[int, int] = {}
    for prefix in rows:
        depth[prefix.id] = depth.get(prefix.parent_id, -1) + 1 if prefix.parent_id else 0
    return render_template("isp/ipam_prefixes.html", rows=rows, depth=depth, usage=px.usage(session, rows),
                           kinds=forms.kind_labels(), family=family, can_manage=has_permission(MANAGE))


def _prefix_data(form: forms.PrefixForm | forms.PrefixEditForm) -> dict[str, Any]:
    return {"kind": form.kind.data, "description": form.description.data, "site_id": form.site_id.data or None,
            "gateway": form.gateway.data, "auto_assign": form.auto_assign.data,
            "quarantine_hours": form.quarantine_hours.data}


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new():  # noqa: ANN201
    form = forms.PrefixForm()
    form.site_id.choices = _site_choices()
    if form.validate_on_submit():
        if saved := save(form, lambda: px.create_prefix(db(), prefix=form.prefix.data, is_pool=form.is_pool.data,
                                                        unit_prefixlen=form.unit_prefixlen.data,
                                                        **_prefix_data(form)),
                         lambda prefix: _("Prefix %(prefix)s created.", prefix=prefix.cidr)):
            return redirect(url_for(".detail", prefix_id=saved.value.id))
    status = 400 if request.method == "POST" else 200
    return render_template("isp/ipam_prefix_form.html", form=form, prefix=None), status


@bp.get("/<int:prefix_id>")
@permission_required(VIEW)
def detail(prefix_id: int):  # noqa: ANN201
    session = db()
    prefix = _or_404(px.get_prefix, prefix_id)
    kids = px.children(session, prefix)
    limit = int(current_app.extensions["mango"].plugin_settings("isp")["history_rows"])
    cgnat_form = forms.CgnatForm()
    config = nat.current(session, prefix) if prefix.kind == "cgnat" else None
    if config is not None:
        cgnat_form.public.data = config.public_cidr
        cgnat_form.port_first.data, cgnat_form.port_last.data = str(config.port_first), str(config.port_last)
        cgnat_form.block_size.data = str(config.block_size)
    return render_template(
        "isp/ipam_prefix.html", prefix=prefix, chain=list(reversed(px.ancestors(prefix))), children=kids,
        usage=px.usage(session, [prefix, *kids]), rows=assignments.assignments_in(session, prefix, limit=limit),
        limit=limit, kinds=forms.kind_labels(), origins=forms.origin_labels(), config=config,
        versions=nat.versions(session, prefix) if prefix.kind == "cgnat" else [], cgnat_form=cgnat_form,
        confirm=forms.ConfirmForm(), can_manage=has_permission(MANAGE), now=utcnow(),
        next_free=_next_free_text(session, prefix))


def _next_free_text(session, prefix) -> str | None:  # noqa: ANN001
    if not prefix.is_pool:
        return None
    slot = assignments.next_free_slot(session, prefix)
    if slot is None:
        return None
    return ad.compressed(prefix.family, ad.key(px.slot_start(prefix, slot)), prefix.unit_prefixlen)


@bp.route("/<int:prefix_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit(prefix_id: int):  # noqa: ANN201
    session = db()
    prefix = _or_404(px.get_prefix, prefix_id)
    form = forms.PrefixEditForm(obj=prefix, data={"site_id": str(prefix.site_id or ""),
                                                  "gateway": prefix.gateway_text or "",
                                                  "quarantine_hours": str(prefix.quarantine_hours)})
    form.site_id.choices = _site_choices()
    if form.validate_on_submit():
        if save(form, lambda: px.update_prefix(session, prefix, **_prefix_data(form)),
                _("Prefix %(prefix)s saved.", prefix=prefix.cidr)):
            return redirect(url_for(".detail", prefix_id=prefix.id))
    status = 400 if request.method == "POST" else 200
    return render_template("isp/ipam_prefix_form.html", form=form, prefix=prefix), status


@bp.post("/<int:prefix_id>/delete")
@permission_required(MANAGE)
def delete(prefix_id: int):  # noqa: ANN201
    session = db()
    prefix = _or_404(px.get_prefix, prefix_id)
    _confirmed()
    text = prefix.cidr
    try:
        px.delete_prefix(session, prefix)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".detail", prefix_id=prefix_id))
    session.commit()
    flash(_("Prefix %(prefix)s deleted.", prefix=text), "success")
    return redirect(url_for(".prefixes"))


@bp.post("/<int:prefix_id>/cgnat")
@permission_required(MANAGE)
def cgnat(prefix_id: int):  # noqa: ANN201
    session = db()
    prefix = _or_404(px.get_prefix, prefix_id)
    form = forms.CgnatForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(url_for(".detail", prefix_id=prefix.id))
    try:
        nat.configure(session, prefix, public=form.public.data, port_first=form.port_first.data,
                      port_last=form.port_last.data, block_size=form.block_size.data, actor=_actor(),
                      note=form.note.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("CGNAT configuration saved."), "success")
    return redirect(url_for(".detail", prefix_id=prefix.id))


# --- who had an address -------------------------------------------------------------------------------


@bp.get("/who")
@permission_required(VIEW)
def who():  # noqa: ANN201
    form = forms.WhoForm(request.args)
    zone = get_timezone()
    holders, asked, error = None, None, None
    if request.args.get("ip"):
        try:
            at = parse_moment(form.at.data, zone) if (form.at.data or "").strip() else utcnow()
            port = None
            if (form.port.data or "").strip():
                text = form.port.data.strip()
                if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 65535:
                    raise px.IpamError(N_("Enter a port from 1 to 65535."), field="port")
                port = int(text)
            holders = lookup.who_had(db(), form.ip.data, at, port)
            asked = {"ip": form.ip.data.strip(), "at": local_text(at, zone), "port": port}
        except InvalidValue as exc:
            error = str(exc)
    return render_template("isp/ipam_who.html", form=form, holders=holders, asked=asked, error=error,
                           zone=str(zone))


# --- the customer card's forms --------------------------------------------------------------------------


def _to_card(service) -> Any:  # noqa: ANN001
    return redirect(url_for("core_customers.card", customer_id=service.customer_id, tab=CARD_TAB))


def _flash_errors(form) -> None:  # noqa: ANN001
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "danger")


@bp.post("/services/<int:service_id>/assign")
@permission_required(MANAGE)
def assign(service_id: int):  # noqa: ANN201
    session = db()
    try:
        service = assignments.get_service(session, service_id)
    except px.NotFound:
        abort(404)
    form = forms.AssignForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _to_card(service)
    address, pool_id = (form.address.data or "").strip(), (form.pool_id.data or "").strip()
    try:
        if bool(address) == bool(pool_id):
            raise px.IpamError(N_("Enter an address, or choose a pool (one of them)."), field="address")
        if pool_id:
            row = assignments.allocate(session, service, px.get_prefix(session, pool_id), actor=_actor(),
                                       note=form.note.data, origin="pool")
        else:
            row = assignments.assign(session, service, address, actor=_actor(), note=form.note.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("%(address)s assigned to service #%(service)d.", address=row.text, service=service.id), "success")
    return _to_card(service)


@bp.post("/assignments/<int:assignment_id>/release")
@permission_required(MANAGE)
def release(assignment_id: int):  # noqa: ANN201
    session = db()
    try:
        row = assignments.get_assignment(session, assignment_id)
    except px.NotFound:
        abort(404)
    form = forms.ReleaseForm()
    if not form.validate_on_submit():
        abort(400)
    service = row.service
    try:
        assignments.release(session, row, actor=_actor(), reason=form.reason.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("%(address)s released.", address=row.text), "success")
    return _to_card(service)


@bp.post("/services/<int:service_id>/macs")
@permission_required(MANAGE)
def bind_mac(service_id: int):  # noqa: ANN201
    session = db()
    try:
        service = assignments.get_service(session, service_id)
    except px.NotFound:
        abort(404)
    form = forms.MacForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _to_card(service)
    try:
        row = assignments.bind_mac(session, service, form.mac.data, assignment_id=form.assignment_id.data or None,
                                   actor=_actor(), note=form.note.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("MAC address %(mac)s bound.", mac=row.mac), "success")
    return _to_card(service)


@bp.post("/macs/<int:binding_id>/release")
@permission_required(MANAGE)
def release_mac(binding_id: int):  # noqa: ANN201
    session = db()
    try:
        row = assignments.get_binding(session, binding_id)
    except px.NotFound:
        abort(404)
    _confirmed()
    service = row.service
    try:
        assignments.release_mac(session, row, actor=_actor())
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("MAC address %(mac)s released.", mac=row.mac), "success")
    return _to_card(service)
