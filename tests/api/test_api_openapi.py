"""The OpenAPI 3.1 document is made from the declared resources, and the docs page shows all of it."""

from __future__ import annotations

import re

import schemathesis
from schemathesis.config import SchemathesisConfig


def _doc(client) -> dict:  # noqa: ANN001
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_describes_every_registered_resource(app, client):
    doc = _doc(client)  # public: no token needed to read the description
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "mango_ + 43 characters",
        "description": "A personal API token of a member of staff."}
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    registry = app.extensions["mango_api"]
    names = {r.name for r in registry}
    assert {"customers", "contacts", "services", "classes", "products", "devices", "invoices", "payments",
            "example-notes"} <= names
    for resource in registry:
        base = f"/api/v1/{resource.name}"
        assert set(doc["paths"][base]) == {m.lower() for m in resource.collection_methods()}
        item = {k for k in doc["paths"][f"{base}/{{id}}"] if k != "parameters"}
        assert item == {m.lower() for m in resource.item_methods()}
        for action in resource.actions:
            assert "post" in doc["paths"][f"{base}/{{id}}/actions/{action.name}"]
        for download in resource.downloads:
            assert download.media_type in doc["paths"][f"{base}/{{id}}/{download.name}"]["get"]["responses"]["200"][
                "content"]
        schema = doc["components"]["schemas"][resource.schema_name]
        assert set(schema["required"]) == {"id", *(["location"] if resource.tenant_owned else []),
                                           *(f.name for f in resource.output_fields)}
        listing = doc["paths"][base]["get"]
        refs = [p.get("$ref") for p in listing["parameters"]]
        assert "#/components/parameters/limit" in refs and "#/components/parameters/offset" in refs
        filters = {p["name"] for p in listing["parameters"] if "name" in p}
        for f in resource.filters:
            assert {f.name if op == "eq" else f"{f.name}[{op}]" for op in f.filter} <= filters
        assert listing["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True


def test_money_and_dates_are_described_as_strings(client):
    schemas = _doc(client)["components"]["schemas"]
    assert schemas["Service"]["properties"]["price"] == {"type": ["string", "null"], "format": "decimal",
                                                        "pattern": r"^-?\d+\.\d{2}$",
                                                        "description": "Own price without VAT (null: the product's)."}
    assert schemas["PaymentCreate"]["properties"]["amount"]["pattern"] == r"^\d{1,10}(\.\d{1,2})?$"
    assert schemas["Customer"]["properties"]["created_at"]["format"] == "date-time"
    assert schemas["Invoice"]["properties"]["issued_on"] == {"type": "string", "format": "date"}
    assert schemas["CustomerCreate"]["additionalProperties"] is False


def test_the_document_loads_as_a_valid_openapi_schema(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=SchemathesisConfig())
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) > 40
    assert {op.label for op in operations} >= {"GET /api/v1/customers", "POST /api/v1/payments",
                                               "GET /api/v1/invoices/{id}/pdf",
                                               "POST /api/v1/services/{id}/actions/block"}


def test_the_docs_page_shows_every_path_schema_and_problem_without_a_cdn(app, client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    doc = _doc(client)
    for path in doc["paths"]:
        assert f"<code>{path}</code>" in html, path
    for name in doc["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    for slug in ("not-found", "validation-error", "idempotency-key-reused", "unauthorized"):
        assert f'id="problem-{slug}"' in html
    assert "Authorization: Bearer" in html  # the introduction, from the document's description
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == [], external
    assert "<script>" not in html and "style=" not in html  # nothing the CSP would block
    assert "Typy problémů" in html  # Czech by default, like every Opcare page
