"""Opcare document pages: the card tab, generating, download, the editor; permissions, CSRF, 404."""

from __future__ import annotations

import re

from sqlalchemy import select

from mango_core.documents.models import Document, DocumentTemplate
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post


def rows(db, model, location, *where):
    with location_scope(location.id):
        return db.scalars(select(model).where(*where).order_by(model.id)
                          .execution_options(populate_existing=True)).all()


def card(customer_id: int) -> str:
    return f"/customers/{customer_id}?tab=documents"


def test_generate_from_the_card_and_download(db, admin, world, new_customer):
    customer_id = new_customer(world.loc_a, first_name="Řehoř", last_name="Žďárský")
    html = admin.get(card(customer_id)).get_data(as_text=True)
    assert 'id="customer-documents"' in html and 'value="k:contract"' in html and "Dokumenty" in html
    done = post(admin, f"/documents/customers/{customer_id}/generate", {"template": "k:contract"},
                token_from=card(customer_id))
    assert done.status_code == 302 and done.location.endswith(card(customer_id))
    [document] = rows(db, Document, world.loc_a, Document.customer_id == customer_id)
    [template] = rows(db, DocumentTemplate, world.loc_a)  # the default became the location's template
    assert (document.template_id, document.template_version, template.kind) == (template.id, 1, "contract")
    html = admin.get(card(customer_id)).get_data(as_text=True)
    assert f'data-document="{document.id}"' in html and f'value="t:{template.id}"' in html
    got = admin.get(f"/documents/{document.id}/download")
    assert got.status_code == 200 and got.mimetype == "application/pdf" and got.data.startswith(b"%PDF")
    assert document.file_name in got.headers["Content-Disposition"]
    assert got.headers["Repr-Digest"].startswith("sha-256=:")
    history = admin.get(f"/customers/{customer_id}?tab=history").get_data(as_text=True)
    assert 'data-action="generate"' in history


def test_a_broken_template_gives_a_message_not_an_error(app, db, admin, world, new_customer):
    customer_id = new_customer(world.loc_a)
    with app.test_request_context(), location_scope(world.loc_a.id):
        from mango_core.documents import service

        template = service.create_template(db, kind="letter", name="Rozbitá", body="{{ customer.name }}{{ 1 / 0 }}")
        db.commit()
    done = post(admin, f"/documents/customers/{customer_id}/generate", {"template": f"t:{template.id}"},
                token_from=card(customer_id))
    assert done.status_code == 302
    page = admin.get(done.location).get_data(as_text=True)
    assert "Šablonu nelze vykreslit" in page and "ZeroDivisionError" in page
    assert rows(db, Document, world.loc_a) == []


def test_editor_saves_versions_and_previews(db, admin, world, new_customer):
    assert admin.get("/documents/templates").status_code == 200
    new = admin.get("/documents/templates/new?kind=handover")
    assert new.status_code == 200 and "Předávací protokol" in new.get_data(as_text=True)
    assert admin.get("/documents/templates/new?kind=nonsense").status_code == 404
    url = "/documents/templates/new?kind=letter"
    bad = post(admin, url, {"name": "Dopis", "body": "{% for x in %}", "action": "save"}, token_from=url)
    assert bad.status_code == 400
    assert "Šablonu nelze vykreslit" in bad.get_data(as_text=True) and "line 1" in bad.get_data(as_text=True)
    unsafe = post(admin, url, {"name": "Dopis", "body": "{{ ''.__class__.__mro__ }}", "action": "preview"},
                  token_from=url)
    assert unsafe.status_code == 400 and "private name" in unsafe.get_data(as_text=True)
    sample = post(admin, url, {"name": "Dopis", "body": "<p>{{ customer.name }}</p>", "action": "preview"},
                  token_from=url)
    assert sample.status_code == 200 and sample.data.startswith(b"%PDF")
    customer_id = new_customer(world.loc_a, first_name="Ludmila", last_name="Řízková")
    with location_scope(world.loc_a.id):
        from mango_core.customers.models import Customer

        number = db.get(Customer, customer_id).number
    real = post(admin, url, {"name": "Dopis", "body": "<p>{{ customer.name }}</p>", "action": "preview",
                             "preview_customer": str(number)}, token_from=url)
    assert real.status_code == 200 and real.data.startswith(b"%PDF")
    missing = post(admin, url, {"name": "Dopis", "body": "x", "action": "preview", "preview_customer": "999999"},
                   token_from=url)
    assert missing.status_code == 400
    saved = post(admin, url, {"name": "Dopis", "body": "<p>{{ customer.name }}</p>", "action": "save"},
                 token_from=url)
    assert saved.status_code == 302
    [template] = rows(db, DocumentTemplate, world.loc_a)
    edit = f"/documents/templates/{template.id}"
    assert post(admin, edit, {"name": "Dopis", "body": "<p>Dobrý den, {{ customer.name }}</p>", "is_active": "y",
                              "action": "save"}, token_from=edit).status_code == 302
    assert post(admin, edit, {"name": "Dopis 2", "body": "<p>Dobrý den, {{ customer.name }}</p>", "is_active": "y",
                              "action": "save"}, token_from=edit).status_code == 302
    [template] = rows(db, DocumentTemplate, world.loc_a)
    assert (template.version, template.name) == (2, "Dopis 2")
    page = admin.get(edit).get_data(as_text=True)
    assert 'data-version="1"' in page and 'data-version="2"' in page
    old = admin.get(f"{edit}?version=1").get_data(as_text=True)
    assert "&lt;p&gt;{{ customer.name }}&lt;/p&gt;" in old
    assert admin.get(f"{edit}?version=7").status_code == 404


def test_permissions(client, db, world, new_customer):
    customer_id = new_customer(world.loc_a)
    login(client, world.clerk_a.email)  # only core.jobs.view
    assert client.get("/documents/templates").status_code == 403
    assert client.get("/documents/templates/new?kind=letter").status_code == 403
    assert client.get("/documents/1/download").status_code == 403
    assert post(client, f"/documents/customers/{customer_id}/generate", {"template": "k:letter"}).status_code == 403
    assert rows(db, Document, world.loc_a) == []


def test_menu_item(admin):
    html = admin.get("/").get_data(as_text=True)
    assert re.search(r'data-menu="core_documents.templates">.*Šablony dokumentů', html)


def test_other_locations_answer_404(app, db, admin, world, new_customer):
    theirs = new_customer(world.loc_b, first_name="Bára", last_name="Cizí")
    with app.test_request_context(), location_scope(world.loc_b.id):
        from mango_core.customers.models import Customer
        from mango_core.documents import service

        template = service.create_template(db, kind="letter", name="Jejich", body="<p>{{ customer.name }}</p>")
        document = service.generate(db, db.get(Customer, theirs), template)
        db.commit()
        template_id, document_id = template.id, document.id
    mine = new_customer(world.loc_a)
    assert admin.get(f"/documents/{document_id}/download").status_code == 404
    assert admin.get(f"/documents/templates/{template_id}").status_code == 404
    assert post(admin, f"/documents/customers/{theirs}/generate", {"template": "k:letter"},
                token_from=card(mine)).status_code == 404
    # their template used for my customer: not found either
    assert post(admin, f"/documents/customers/{mine}/generate", {"template": f"t:{template_id}"},
                token_from=card(mine)).status_code == 404
    assert len(rows(db, Document, world.loc_b)) == 1 and rows(db, Document, world.loc_a) == []


def test_csrf_is_required(admin, db, world, new_customer):
    customer_id = new_customer(world.loc_a)
    assert admin.post(f"/documents/customers/{customer_id}/generate", data={"template": "k:letter"}).status_code == 400
    assert admin.post("/documents/templates/new?kind=letter",
                      data={"name": "x", "body": "x", "action": "save"}).status_code == 400
    assert rows(db, Document, world.loc_a) == [] and rows(db, DocumentTemplate, world.loc_a) == []


def test_tampered_document_is_not_handed_out(admin, db, world, new_customer):
    from sqlalchemy import text

    customer_id = new_customer(world.loc_a)
    assert post(admin, f"/documents/customers/{customer_id}/generate", {"template": "k:letter"},
                token_from=card(customer_id)).status_code == 302
    [document] = rows(db, Document, world.loc_a)
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE core_document DISABLE TRIGGER core_document_append_only"))
    else:
        conn.execute(text("DROP TRIGGER core_document_append_only_update"))
    conn.execute(text("UPDATE core_document SET content = :b WHERE id = :id"), {"b": b"%PDF forged", "id": document.id})
    db.commit()
    got = admin.get(f"/documents/{document.id}/download")
    assert got.status_code == 409 and b"%PDF" not in got.data
    assert "SHA-256" in got.get_data(as_text=True)
