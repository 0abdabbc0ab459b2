"""Opcare pages of documents: the customer card's tab, generating, downloading, the template editor.

Objects named in a URL are looked up through the tenant-guarded session, so those of another
location answer 404. Every change is a POST with a CSRF token; a template that fails (syntax, a
refused name, a runtime error, a layout error) comes back as a message in the editor or on the
card, never as a server error.
"""

from __future__ import annotations

import base64
import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from mango_core.auth.access import permission_required
from mango_core.auth.models import User
from mango_core.customers.models import Customer
from mango_core.documents import forms, service
from mango_core.documents.kinds import CUSTOMER
from mango_core.documents.models import DocumentTemplate
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.menu import MenuItem
from mango_core.web.request import db

log = logging.getLogger(__name__)
bp = Blueprint("core_documents", __name__, url_prefix="/documents")

VIEW, GENERATE, MANAGE = "core.documents.view", "core.documents.generate", "core.document_templates.manage"

MENU = [
    MenuItem(_l("Document templates"), "core_documents.templates", MANAGE, section="admin", order=60,
             icon="file-earmark-text"),
]


def _actor() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _customer_or_404(customer_id: int | None) -> Customer:
    customer = db().get(Customer, customer_id) if customer_id else None
    if customer is None:
        abort(404)
    return customer


def _template_or_404(template_id: int) -> DocumentTemplate:
    try:
        return service.get_template(db(), template_id)
    except service.NotFound:
        abort(404)


def _authors(ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db().execute(select(User.id, User.name).where(User.id.in_(ids))).all())


# --- the customer card ------------------------------------------------------------------------


def generate_choices() -> list:
    """Active templates of customer kinds, and each such kind's default where it has no template yet."""
    session = db()
    kinds = {k: v for k, v in service.kinds().items() if v.subject == CUSTOMER}
    pairs, covered = [], set()
    for t in service.list_templates(session, active_only=True):
        if t.kind in kinds:
            covered.add(t.kind)
            pairs.append((f"t:{t.id}", f"{kinds[t.kind].label}: {t.name} (v{t.version})"))
    for key, kind in kinds.items():
        if key not in covered:
            pairs.append((f"k:{key}", f"{kind.label}: {_('default template')}"))
    return pairs


def render_customer_tab(customer: Customer) -> str:
    """The "Documents" tab of the customer card."""
    session = db()
    rows = service.documents_of(session, customer.id)
    can_generate = has_permission(GENERATE) and customer.anonymised_at is None
    form = None
    if can_generate:
        form = forms.GenerateForm()
        form.template.choices = options(generate_choices())
    kinds = service.kinds()
    return render_template("documents/customer_tab.html", customer=customer, rows=rows, form=form,
                           kind_labels={k: v.label for k, v in kinds.items()},
                           authors=_authors({r.created_by_id for r in rows}))


@bp.post("/customers/<int:customer_id>/generate")
@permission_required(GENERATE)
def generate(customer_id: int):  # noqa: ANN201
    session = db()
    customer = _customer_or_404(customer_id)
    form = forms.GenerateForm()
    back = redirect(url_for("core_customers.card", customer_id=customer.id, tab="documents"))
    if not form.validate_on_submit():
        flash(_("Choose a template."), "danger")
        return back
    if customer.anonymised_at is not None:
        abort(404)
    choice = form.template.data or ""
    prefix, _sep, value = choice.partition(":")
    try:
        if prefix == "t" and value.isdigit() and len(value) < 12:
            template = service.get_template(session, int(value))
            if not template.is_active:
                raise service.NotFound(field="template")
        elif prefix == "k" and value in service.kinds():
            template = service.default_template(session, value, actor=_actor())
        else:
            raise service.NotFound(field="template")
        document = service.generate(session, customer, template, actor=_actor())
    except service.NotFound:
        session.rollback()
        abort(404)
    except service.DocumentError as exc:
        session.rollback()
        flash(str(exc), "danger")
        return back
    session.commit()
    flash(_("Document %(name)s generated and archived.", name=document.file_name), "success")
    return back


@bp.get("/<int:document_id>/download")
@permission_required(VIEW)
def download(document_id: int):  # noqa: ANN201
    try:
        document, content = service.open_document(db(), document_id)
    except service.NotFound:
        abort(404)
    except service.IntegrityFailure as exc:
        log.error("document %s failed its SHA-256 check", document_id)
        return render_template("documents/integrity.html", message=str(exc), document_id=document_id), 409
    response = Response(content, mimetype=document.media_type)
    disposition = "inline" if request.args.get("inline") else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{document.file_name}"'
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response


# --- templates ----------------------------------------------------------------------------------


@bp.get("/templates")
@permission_required(MANAGE)
def templates():  # noqa: ANN201
    kinds = service.kinds()
    rows = service.list_templates(db())
    return render_template("documents/templates.html", rows=rows, kinds=kinds,
                           kind_labels={k: v.label for k, v in kinds.items()})


def _preview_customer(form: forms.TemplateForm) -> Customer | None:
    raw = (form.preview_customer.data or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise service.DocumentError(service.N_("Enter a customer number."), field="preview_customer")
    customer = db().scalar(select(Customer).where(Customer.number == int(raw)))
    if customer is None:
        raise service.DocumentError(service.N_("No customer with this number."), field="preview_customer")
    return customer


def _preview(form: forms.TemplateForm, kind: str):  # noqa: ANN202
    """A PDF of the form's unsaved text, or None with the error put on the form."""
    try:
        rendered = service.preview(db(), kind=kind, body=form.body.data or "", css=form.css.data or "",
                                   customer=_preview_customer(form))
    except service.DocumentError as exc:
        form_error(form, exc)
        return None
    response = Response(rendered.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="preview.pdf"'
    return response


def _editor(form: forms.TemplateForm, template: DocumentTemplate | None, kind: str, status: int = 200):  # noqa: ANN202
    kinds = service.kinds()
    versions = []
    if template is not None:
        versions = template.versions
    return render_template("documents/template_form.html", form=form, template=template, kind=kind,
                           kind_label=kinds[kind].label if kind in kinds else kind, versions=versions,
                           authors=_authors({v.created_by_id for v in versions}),
                           can_save=True), status


@bp.route("/templates/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def template_new():  # noqa: ANN201
    session = db()
    kinds = service.kinds()
    kind = request.args.get("kind", "")
    if kind not in kinds:
        abort(404)
    form = forms.TemplateForm()
    if request.method == "GET":
        form.name.data = str(kinds[kind].label)
        form.body.data = kinds[kind].default_body
        form.css.data = kinds[kind].default_css
        return _editor(form, None, kind)
    if not form.validate_on_submit():
        return _editor(form, None, kind, 400)
    if request.form.get("action") == "preview":
        return _preview(form, kind) or _editor(form, None, kind, 400)
    try:
        template = service.create_template(session, kind=kind, name=form.name.data, body=form.body.data,
                                           css=form.css.data or "", actor=_actor(), note=form.note.data)
    except service.DocumentError as exc:
        session.rollback()
        form_error(form, exc)
        return _editor(form, None, kind, 400)
    session.commit()
    flash(_("Template %(name)s saved.", name=template.name), "success")
    return redirect(url_for(".template_edit", template_id=template.id))


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@permission_required(MANAGE)
def template_edit(template_id: int):  # noqa: ANN201
    session = db()
    template = _template_or_404(template_id)
    current = template.current
    form = forms.TemplateForm(data={"name": template.name, "body": current.body, "css": current.css,
                                    "is_active": template.is_active})
    if request.method == "GET":
        version = request.args.get("version", type=int)
        if version and version != template.version:
            try:
                old = service.get_version(session, template, version)
            except service.NotFound:
                abort(404)
            form.body.data, form.css.data = old.body, old.css
            flash(_("Showing version %(version)s; saving makes it the newest version.", version=version), "info")
        return _editor(form, template, template.kind)
    if not form.validate_on_submit():
        return _editor(form, template, template.kind, 400)
    if request.form.get("action") == "preview":
        return _preview(form, template.kind) or _editor(form, template, template.kind, 400)
    try:
        added = service.update_template(session, template, name=form.name.data, body=form.body.data,
                                        css=form.css.data or "", is_active=form.is_active.data, actor=_actor(),
                                        note=form.note.data)
    except service.DocumentError as exc:
        session.rollback()
        form_error(form, exc)
        return _editor(form, _template_or_404(template_id), template.kind, 400)
    session.commit()
    if added:
        flash(_("Template saved as version %(version)s.", version=template.version), "success")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for(".template_edit", template_id=template.id))
