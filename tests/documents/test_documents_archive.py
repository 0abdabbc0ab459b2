"""Templates with versions, generating into the archive, immutability and SHA-256 checks."""

from __future__ import annotations

import hashlib
import io

import pypdf
import pytest
from sqlalchemy import select, text

from mango_core.customers.models import Customer
from mango_core.documents import service
from mango_core.documents.models import Document, DocumentTemplateVersion
from mango_core.history.models import HistoryEntry
from mango_core.tenancy import location_scope


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_core_kinds_are_offered(in_a):
    kinds = service.kinds()
    assert {"contract", "handover", "letter", "example"} <= set(kinds)
    assert kinds["contract"].plugin == "core" and kinds["example"].plugin == "example"


def test_template_changes_make_versions(db, in_a):
    template = service.create_template(db, kind="letter", name="Upomínka", body="<p>{{ customer.name }}</p>")
    assert template.version == 1
    assert not service.update_template(db, template, name="Dopis", body="<p>{{ customer.name }}</p>")  # same text
    assert template.version == 1 and template.name == "Dopis"
    assert service.update_template(db, template, body="<p>Vážený {{ customer.name }}</p>", note="oslovení")
    assert service.update_template(db, template, css="p { color: #333 }")
    assert template.version == 3
    versions = db.scalars(select(DocumentTemplateVersion).where(DocumentTemplateVersion.template_id == template.id)
                          .order_by(DocumentTemplateVersion.version)).all()
    assert [(v.version, v.body, v.css) for v in versions] == [
        (1, "<p>{{ customer.name }}</p>", ""), (2, "<p>Vážený {{ customer.name }}</p>", ""),
        (3, "<p>Vážený {{ customer.name }}</p>", "p { color: #333 }")]
    assert service.get_version(db, template, 1).body == "<p>{{ customer.name }}</p>"
    with pytest.raises(service.TemplateFailed):
        service.update_template(db, template, body="{% if %}")
    assert template.version == 3
    with pytest.raises(service.DocumentError):
        service.create_template(db, kind="letter", name="Dopis", body="x")  # the name is taken
    with pytest.raises(service.NotFound):
        service.create_template(db, kind="nonsense", name="x", body="x")


def test_generate_archives_a_real_pdf_with_history(app, db, world, new_customer):
    customer_id = new_customer(world.loc_a, first_name="Řehoř", last_name="Žďárský")
    with app.test_request_context():
        with location_scope(world.loc_a.id):
            customer = db.get(Customer, customer_id)
            template = service.default_template(db, "contract", actor=world.admin_a.id)
            document = service.generate(db, customer, template, actor=world.admin_a.id)
            db.commit()
            stored, content = service.open_document(db, document.id)
            assert content.startswith(b"%PDF") and stored.size == len(content)
            assert stored.sha256 == hashlib.sha256(content).hexdigest()
            assert (stored.kind, stored.template_id, stored.template_version) == ("contract", template.id, 1)
            assert stored.file_name.endswith(".pdf") and "zdarsky" in stored.file_name
            body = pdf_text(content)
            assert "Řehoř Žďárský" in body and "Smlouva o poskytování služeb" in body
            assert world.loc_a.company_name in body and "Údolní 12" in body
            entry = db.scalar(select(HistoryEntry).where(HistoryEntry.entity == "document",
                                                         HistoryEntry.entity_id == document.id))
            assert entry.action == "generate" and entry.customer_id == customer_id
            assert entry.user_id == world.admin_a.id and entry.after == stored.file_name


def _archived(app, db, world, new_customer) -> int:
    customer_id = new_customer(world.loc_a)
    with app.test_request_context(), location_scope(world.loc_a.id):
        template = service.create_template(db, kind="letter", name="Krátký", body="<p>{{ customer.name }}</p>")
        document = service.generate(db, db.get(Customer, customer_id), template)
        db.commit()
        return document.id


@pytest.mark.parametrize("statement", [
    "UPDATE core_document SET content = :blob WHERE id = :id",
    "UPDATE core_document SET file_name = 'x.pdf' WHERE id = :id",
    "DELETE FROM core_document WHERE id = :id",
    "UPDATE core_document_template_version SET body = 'x'",
    "DELETE FROM core_document_template_version",
])
def test_the_database_refuses_to_change_the_archive(app, db, world, new_customer, statement):
    document_id = _archived(app, db, world, new_customer)
    conn = db.connection()
    with pytest.raises(Exception, match="append-only"), conn.begin_nested():  # noqa: B017 - the driver's own error
        conn.execute(text(statement), {"id": document_id, "blob": b"%PDF-forged"})
    with location_scope(world.loc_a.id):
        assert service.open_document(db, document_id)[1].startswith(b"%PDF")  # still there, unchanged


def test_tampered_content_fails_the_sha256_check(app, db, world, new_customer):
    document_id = _archived(app, db, world, new_customer)
    conn = db.connection()
    # someone with database access switches the protection off and swaps the bytes
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE core_document DISABLE TRIGGER core_document_append_only"))
    else:
        conn.execute(text("DROP TRIGGER core_document_append_only_update"))
    conn.execute(text("UPDATE core_document SET content = :blob WHERE id = :id"),
                 {"blob": b"%PDF-1.7 forged", "id": document_id})
    db.expire_all()
    with app.test_request_context(), location_scope(world.loc_a.id), pytest.raises(service.IntegrityFailure):
        service.open_document(db, document_id)
    with location_scope(world.loc_b.id), pytest.raises(service.NotFound):
        service.open_document(db, document_id)  # another location: not found, whatever its state


def test_a_failing_template_stores_nothing(app, db, world, new_customer):
    customer_id = new_customer(world.loc_a)
    with app.test_request_context(), location_scope(world.loc_a.id):
        template = service.create_template(db, kind="letter", name="Chybná", body="{{ customer.name.__class__ }}")
        with pytest.raises(service.TemplateFailed, match="private name '__class__'"):
            service.generate(db, db.get(Customer, customer_id), template)
        assert db.scalars(select(Document)).all() == []
