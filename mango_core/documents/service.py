"""Document templates, rendering and the archive: what the views, the API and plugins call.

* Templates belong to a location; every change of the text adds a version (never rewritten).
* :func:`generate` renders a template in the sandbox, makes the PDF and archives it with its
  SHA-256 in the same transaction as a history entry.
* :func:`open_document` checks the SHA-256 before anything is handed out.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from mango_core import history
from mango_core.customers.models import Customer
from mango_core.documents import sandbox
from mango_core.documents.kinds import CUSTOMER, DocumentKind
from mango_core.documents.models import Document, DocumentTemplate, DocumentTemplateVersion
from mango_core.tenancy.context import scope_or_none
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue

MAX_BODY = 200_000
MAX_CSS = 100_000


class DocumentError(InvalidValue):
    pass


class NotFound(DocumentError):
    default_message = N_("Not found.")


class IntegrityFailure(DocumentError):
    """An archived document's bytes no longer match their SHA-256."""

    default_message = N_("The archived document does not match its SHA-256 checksum; it was changed outside Mango.")


class PdfUnavailable(DocumentError):
    """WeasyPrint cannot load its system libraries; Mango runs on, only PDFs are not made."""

    default_message = N_("PDF documents need the Pango library on the server "
                         "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0).")


class TemplateFailed(DocumentError):
    """A template cannot be rendered (syntax, a refused name, a runtime error): ``detail`` says where."""

    default_message = N_("The template cannot be rendered: %(detail)s")


@dataclass
class Rendered:
    html: str
    pdf: bytes
    refused_urls: list[str]


# --- kinds ------------------------------------------------------------------------------------


def kinds(location_id: int | None = None) -> dict[str, DocumentKind]:
    """Kinds of the plugins active in the location (all loaded ones without a location); first wins."""
    from mango_core.kernel import current_mango

    mango = current_mango()
    if location_id is None:
        scope = scope_or_none()
        location_id = scope.write_location_id if scope else None
    only = None
    if location_id is not None:
        only = g.active_modules if has_request_context() and "active_modules" in g else \
            mango.plugins.active_names(location_id)
    found: dict[str, DocumentKind] = {}
    for plugin, items in mango.plugins.contributions("mango_document_kinds", only=only):
        for kind in items or ():
            if kind.key not in found:
                object.__setattr__(kind, "plugin", plugin.name)
                found[kind.key] = kind
    return found


def kind_of(key: str, location_id: int | None = None) -> DocumentKind:
    found = kinds(location_id).get(key)
    if found is None:
        raise NotFound(field="kind")
    return found


# --- templates ----------------------------------------------------------------------------------


def list_templates(session: Session, kind: str | None = None, *, active_only: bool = False) -> list[DocumentTemplate]:
    stmt = select(DocumentTemplate).order_by(DocumentTemplate.kind, DocumentTemplate.name)
    if kind:
        stmt = stmt.where(DocumentTemplate.kind == kind)
    if active_only:
        stmt = stmt.where(DocumentTemplate.is_active.is_(True))
    return list(session.scalars(stmt))


def get_template(session: Session, template_id: int) -> DocumentTemplate:
    found = session.get(DocumentTemplate, template_id)
    if found is None:
        raise NotFound(field="template")
    return found


def get_version(session: Session, template: DocumentTemplate, version: int) -> DocumentTemplateVersion:
    found = session.scalar(select(DocumentTemplateVersion).where(DocumentTemplateVersion.template_id == template.id,
                                                               DocumentTemplateVersion.version == version))
    if found is None:
        raise NotFound(field="version")
    return found


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    text = (value or "").replace("\r\n", "\n")
    if required and not text.strip():
        raise DocumentError(N_("This field is required."), field=field)
    if len(text) > limit:
        raise DocumentError(N_("At most %(limit)s characters."), field=field, limit=limit)
    return text


def _checked(body: str, css: str) -> tuple[str, str]:
    body = _text(body, "body", MAX_BODY, required=True)
    css = _text(css, "css", MAX_CSS)
    try:
        sandbox.check(body)
    except sandbox.TemplateProblem as exc:
        raise TemplateFailed(field="body", detail=str(exc)) from exc
    return body, css


def _name(session: Session, kind: str, name: Any, template_id: int | None = None) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise DocumentError(N_("This field is required."), field="name")
    if len(name) > 100:
        raise DocumentError(N_("At most %(limit)s characters."), field="name", limit=100)
    clash = session.scalar(select(DocumentTemplate.id).where(DocumentTemplate.kind == kind,
                                                             DocumentTemplate.name == name))
    if clash is not None and clash != template_id:
        raise DocumentError(N_("A template of this kind with this name exists."), field="name")
    return name


def create_template(session: Session, *, kind: str, name: str, body: str, css: str = "", actor: int | None = None,
                    note: str | None = None) -> DocumentTemplate:
    kind_of(kind)
    body, css = _checked(body, css)
    first = DocumentTemplateVersion(version=1, body=body, css=css, created_by_id=actor,
                                    note=(note or "").strip()[:200] or None)
    template = DocumentTemplate(kind=kind, name=_name(session, kind, name), version=1, is_active=True,
                                versions=[first])
    session.add(template)
    session.flush()
    return template


def default_template(session: Session, kind: str, *, actor: int | None = None) -> DocumentTemplate:
    """The location's first template of a kind, made from the kind's default text when there is none."""
    existing = list_templates(session, kind, active_only=True)
    if existing:
        return existing[0]
    found = kind_of(kind)
    name = str(found.label)
    return create_template(session, kind=kind, name=name, body=found.default_body, css=found.default_css, actor=actor,
                           note="default")


def update_template(session: Session, template: DocumentTemplate, *, name: str | None = None,
                    body: str | None = None, css: str | None = None, is_active: bool | None = None,
                    actor: int | None = None, note: str | None = None) -> bool:
    """Change a template; a changed text becomes a new version. Returns whether a version was added."""
    current = template.current
    new_body, new_css = _checked(current.body if body is None else body, current.css if css is None else css)
    if name is not None:
        template.name = _name(session, template.kind, name, template.id)
    if is_active is not None:
        template.is_active = bool(is_active)
    added = (new_body, new_css) != (current.body, current.css)
    if added:
        template.version += 1
        template.versions.append(DocumentTemplateVersion(version=template.version, body=new_body, css=new_css,
                                                         created_by_id=actor,
                                                         note=(note or "").strip()[:200] or None))
    session.flush()
    return added


# --- rendering --------------------------------------------------------------------------------


def _environment(session: Session, location_id: int | None) -> sandbox.DocumentEnvironment:
    location = session.get(Location, location_id) if location_id is not None else None
    if location is None:
        return sandbox.make_environment()
    return sandbox.make_environment(location.locale, location.timezone, location.currency)


def _page(html: str, title: str) -> str:
    if re.match(r"\s*(<!doctype|<html)", html, re.IGNORECASE):
        return html
    from markupsafe import escape

    return (f'<!doctype html><html lang="cs"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body>{html}</body></html>")


def render(session: Session, body: str, css: str, context: dict[str, Any], *, title: str = "",
           location_id: int | None = None) -> Rendered:
    """Render a template to HTML and PDF; a template's fault raises :class:`TemplateFailed`."""
    if location_id is None:
        scope = scope_or_none()
        location_id = scope.write_location_id if scope else None
    try:
        html = _page(sandbox.render(body, context, _environment(session, location_id)), title)
    except sandbox.TemplateProblem as exc:
        failure = TemplateFailed(field="body", detail=str(exc))
        failure.line = exc.line
        raise failure from exc
    try:  # imported here: WeasyPrint needs Pango, and Mango must start on a machine without it
        from mango_core.documents import pdf
    except (ImportError, OSError) as exc:
        raise PdfUnavailable() from exc
    fetcher = pdf.GuardedFetcher()
    try:
        document = pdf.to_pdf(html, css, fetcher=fetcher)
    except Exception as exc:  # noqa: BLE001 - odd HTML/CSS may break the layout engine; never a 500
        raise TemplateFailed(field="css", detail=f"PDF: {type(exc).__name__}: {exc}") from exc
    return Rendered(html, document, list(fetcher.refused))


def context_for(session: Session, kind: DocumentKind, customer: Customer | None) -> dict[str, Any]:
    """The kind's context for a real customer, or its sample (or the customer sample) without one."""
    if customer is not None:
        return kind.context(session, customer)
    from mango_core.documents.kinds import sample_context

    return (kind.sample or sample_context)()


def preview(session: Session, *, kind: str, body: str, css: str, customer: Customer | None = None) -> Rendered:
    """Render unsaved text (the editor's preview) with a real customer or sample data."""
    found = kind_of(kind)
    return render(session, body, css, context_for(session, found, customer), title=str(found.label))


# --- archive ----------------------------------------------------------------------------------


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()[:60] or "document"


def archive(session: Session, *, customer: Customer, kind: str, title: str, content: bytes,
            template: DocumentTemplate | None = None, template_version: int | None = None,
            actor: int | None = None, media_type: str = "application/pdf", extension: str = "pdf") -> Document:
    """Store a finished document for good (and write history). Plugins that render by themselves call this."""
    stamp = _now_stamp()
    document = Document(customer_id=customer.id, kind=kind, title=title[:200],
                        template_id=template.id if template else None,
                        template_version=template_version if template else None,
                        file_name=f"{_slug(title)}-{customer.number}-{stamp}.{extension}"[:200],
                        media_type=media_type, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                        content=content, created_by_id=actor)
    session.add(document)
    session.flush()
    history.record(session, entity="document", entity_id=document.id, customer_id=customer.id, action="generate",
                   changes={"document": (None, document.file_name)},
                   reason=f"{kind}: {title}" + (f" ({template.name} v{template_version})" if template else ""),
                   user_id=actor)
    return document


def _now_stamp() -> str:
    from mango_core.db import utcnow

    return utcnow().strftime("%Y%m%d-%H%M%S")


def generate(session: Session, customer: Customer, template: DocumentTemplate, *, actor: int | None = None,
             context: dict[str, Any] | None = None) -> Document:
    """Render the template's current version for the customer and archive the PDF.

    Raises :class:`TemplateFailed` when the template fails (nothing is stored).
    """
    if customer.location_id != template.location_id:
        raise NotFound(field="template")
    kind = kind_of(template.kind, customer.location_id)
    if context is None and kind.subject != CUSTOMER:
        raise DocumentError(N_("This kind of document is not made from a customer."), field="kind")
    version = template.current
    title = f"{kind.label} – {customer.display_name}"
    ctx = context if context is not None else kind.context(session, customer)
    rendered = render(session, version.body, version.css, ctx, title=title, location_id=customer.location_id)
    return archive(session, customer=customer, kind=template.kind, title=title, content=rendered.pdf,
                   template=template, template_version=version.version, actor=actor)


def documents_of(session: Session, customer_id: int, limit: int = 200) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.customer_id == customer_id)
                                .order_by(Document.id.desc()).limit(limit)))


def get_document(session: Session, document_id: int) -> Document:
    found = session.get(Document, document_id)
    if found is None:
        raise NotFound()
    return found


def open_document(session: Session, document_id: int) -> tuple[Document, bytes]:
    """The document of the current location and its verified bytes."""
    document = session.scalar(select(Document).where(Document.id == document_id).options(undefer(Document.content)))
    if document is None:
        raise NotFound()
    content = document.content or b""
    if len(content) != document.size or hashlib.sha256(content).hexdigest() != document.sha256:
        raise IntegrityFailure()
    return document, content
