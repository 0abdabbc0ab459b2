"""The OpenAPI 3.1 document of ``/api/v1``, made from the declared resources.

Nothing here is written by hand per resource: paths, parameters and schemas come from the same
:class:`~mango_core.api.resources.ApiResource` and :class:`~mango_core.api.fields.Field`
declarations the views serve and validate with, so the document matches the API by
construction (and the schemathesis tests check that it does).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from markupsafe import Markup, escape

from mango_core import __version__
from mango_core.api import idempotency
from mango_core.api.fields import CREATE, INT_MAX, NO_NUL, WRITE, Field
from mango_core.api.problems import IDEMPOTENCY_MISMATCH, KINDS, PROBLEM_SCHEMA
from mango_core.api.resources import Action, ApiResource, Registry

PREFIX = "/api/v1"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

DESCRIPTION = """\
The REST API of Mango. JSON in and out; money as decimal strings (`"499.00"`), dates as ISO 8601.

**Authentication.** Every call sends a personal API token: `Authorization: Bearer mango_…`.
A member of staff creates one in Opcare (Administration → API tokens) or an operator with
`mango api token create --user EMAIL [--location CODE]`; it is shown once. A token acts as its user:
in the user's locations where the user holds `core.api.use` (or in the one location the token is
narrowed to), with the user's permissions there. Revoking the token, disabling the user or
removing a role takes effect at the next call.

**Locations.** Reads show objects of every location where you may read the resource. An object
of any other location answers 404. A new object is created in the token's location; when the
token works in several, name one with `"location": "<code>"`.

**Lists.** `limit` (1–200, default 50) and `offset` page through `items`; `total` counts them all
and `links` give the next and previous pages. Filters are query parameters (`?state=active`,
`?issued_on[gte]=2026-01-01`); `sort=-created_at,id` sorts (a leading `-` for descending).

**Errors** are RFC 9457 problem details (`application/problem+json`): `type`, `title`, `status`,
`detail`, and `errors` (one per bad value, with a JSON `pointer`) for validation problems.
`Accept-Language: cs` gives the details in Czech.

**Idempotency.** Send `Idempotency-Key: <unique text>` with a POST to make a retry safe: the same
key (per token and location, for 24 hours) replays the first successful answer
(`Idempotent-Replayed: true`); the same key with another request is refused with 422.
"""


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


def _problem(description: str, *, auth: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/problem+json": {"schema": PROBLEM_REF}}}
    if auth:
        response["headers"] = {"WWW-Authenticate": {"description": "The Bearer challenge (RFC 6750).",
                                                    "required": True, "schema": {"type": "string"}}}
    return response


def _json_response(description: str, ref: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
    if headers:
        response["headers"] = headers
    return response


COMMON_ERRORS = {
    "401": _problem("No token, or not a live one.", auth=True),
    "403": _problem("The token's user lacks the permission needed here."),
    "404": _problem("No such resource or object among the locations the token may read."),
}
BODY_ERRORS = {
    "400": _problem("The body is not valid JSON, or a header is not valid."),
    "413": _problem("The body is too large."),
    "415": _problem("The body is not application/json."),
    "422": _problem("The values are not valid, or the request breaks a rule."),
}


def _object_schema(resource: ApiResource, fields: list[Field], *, for_input: bool, required: list[str],
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = dict(extra or {})
    for f in fields:
        properties[f.name] = f.json_schema(for_input=for_input)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _location_input() -> dict[str, Any]:
    return {"type": "string", "maxLength": 20, "pattern": NO_NUL,
            "description": "Code of the location to create it in; needed when the token works in several."}


def _schemas(resource: ApiResource) -> dict[str, dict[str, Any]]:
    name = resource.schema_name
    head: dict[str, Any] = {"id": {"type": "integer", "minimum": 1}}
    if resource.tenant_owned:
        head["location"] = {"type": "string", "description": "Code of the object's location."}
    outputs = resource.output_fields
    schemas = {
        name: {**_object_schema(resource, outputs, for_input=False,
                                required=[*head, *(f.name for f in outputs)], extra=head),
               "description": resource.description or resource.title},
        f"{name}Page": {
            "type": "object",
            "additionalProperties": False,
            "required": ["items", "total", "limit", "offset", "links"],
            "properties": {
                "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
                "total": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1},
                "offset": {"type": "integer", "minimum": 0},
                "links": {"$ref": "#/components/schemas/PageLinks"},
            },
        },
    }
    if resource.create is not None:
        fields = resource.input_fields(CREATE)
        extra = {"location": _location_input()} if resource.tenant_owned or resource.partner_owned else {}
        schemas[f"{name}Create"] = _object_schema(resource, fields, for_input=True,
                                                  required=[f.name for f in fields if f.required], extra=extra)
    if resource.update is not None:
        schemas[f"{name}Update"] = _object_schema(resource, resource.input_fields(WRITE), for_input=True, required=[])
    for act in resource.actions:
        schemas[_action_schema(resource, act)] = _object_schema(
            resource, list(act.fields), for_input=True, required=[f.name for f in act.fields if f.required])
    return schemas


def _action_schema(resource: ApiResource, act: Action) -> str:
    return f"{resource.schema_name}{_camel(act.name)}Input"


def _sort_parameter(resource: ApiResource) -> dict[str, Any]:
    names = ["id", *(f.name for f in resource.sortable)]
    one = f"-?({'|'.join(re.escape(n) for n in names)})"
    return {"name": "sort", "in": "query", "required": False,
            "description": f"Comma-separated fields to sort by, a leading - for descending: {', '.join(names)}. "
                           f"Default: {resource.default_sort}.",
            "schema": {"type": "string", "pattern": f"^{one}(,{one})*$"}}


def _list_parameters(resource: ApiResource) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [{"$ref": "#/components/parameters/limit"},
                                    {"$ref": "#/components/parameters/offset"}, _sort_parameter(resource)]
    if resource.search is not None:
        params.append({"name": "q", "in": "query", "required": False, "description": "Search text.",
                       "schema": {"type": "string", "maxLength": 200, "pattern": NO_NUL}})
    for f in resource.filters:
        for op in f.filter:
            label = {"eq": "equal to", "gte": "at least", "lte": "at most"}[op]
            params.append({"name": f.name if op == "eq" else f"{f.name}[{op}]", "in": "query", "required": False,
                           "description": f"Only objects whose {f.name} is {label} this.",
                           "schema": f.query_schema()})
    return params


IDEMPOTENCY_PARAMETER = {"$ref": "#/components/parameters/IdempotencyKey"}
ID_PARAMETER = {"name": "id", "in": "path", "required": True, "description": "The object's id.",
                "schema": {"type": "integer", "minimum": 1, "maximum": INT_MAX}}


def _body(ref: str, required: bool) -> dict[str, Any]:
    return {"required": required,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _paths(resource: ApiResource) -> dict[str, dict[str, Any]]:
    name, schema = resource.name, resource.schema_name
    tag = [name]
    collection: dict[str, Any] = {
        "get": {
            "operationId": f"{name}-list", "tags": tag, "summary": f"List {resource.title or name}",
            "parameters": _list_parameters(resource),
            "responses": {"200": _json_response("A page of objects.", f"{schema}Page"),
                          "400": _problem("A query parameter is not valid."), **COMMON_ERRORS},
        },
    }
    if resource.create is not None:
        fields = resource.input_fields(CREATE)
        collection["post"] = {
            "operationId": f"{name}-create", "tags": tag, "summary": f"Create ({name})",
            "parameters": [IDEMPOTENCY_PARAMETER],
            "requestBody": _body(f"{schema}Create", any(f.required for f in fields)),
            "responses": {
                "201": _json_response("Created.", schema, {"Location": {
                    "description": "The new object's address.", "required": True, "schema": {"type": "string"}}}),
                **BODY_ERRORS, **COMMON_ERRORS,
            },
        }
    item: dict[str, Any] = {
        "parameters": [ID_PARAMETER],
        "get": {"operationId": f"{name}-get", "tags": tag, "summary": f"One object ({name})",
                "responses": {"200": _json_response("The object.", schema), **COMMON_ERRORS}},
    }
    if resource.update is not None:
        item["patch"] = {
            "operationId": f"{name}-update", "tags": tag, "summary": f"Change ({name}): the fields sent",
            "requestBody": _body(f"{schema}Update", False),
            "responses": {"200": _json_response("The changed object.", schema), **BODY_ERRORS, **COMMON_ERRORS},
        }
    if resource.delete is not None:
        item["delete"] = {
            "operationId": f"{name}-delete", "tags": tag, "summary": f"Delete ({name})",
            "responses": {"204": {"description": "Deleted."},
                          "422": _problem("The object cannot be deleted (it is in use)."), **COMMON_ERRORS},
        }
    paths = {f"{PREFIX}/{name}": collection, f"{PREFIX}/{name}/{{id}}": item}
    for act in resource.actions:
        paths[f"{PREFIX}/{name}/{{id}}/actions/{act.name}"] = {
            "parameters": [ID_PARAMETER],
            "post": {
                "operationId": f"{name}-{act.name}", "tags": tag, "summary": act.summary or act.name,
                "description": act.description,
                "parameters": [IDEMPOTENCY_PARAMETER],
                "requestBody": _body(_action_schema(resource, act), any(f.required for f in act.fields)),
                "responses": {"200": _json_response("The object after the operation.", schema),
                              **BODY_ERRORS, **COMMON_ERRORS},
            },
        }
    for down in resource.downloads:
        paths[f"{PREFIX}/{name}/{{id}}/{down.name}"] = {
            "parameters": [ID_PARAMETER],
            "get": {
                "operationId": f"{name}-{down.name}", "tags": tag, "summary": down.summary or down.name,
                "responses": {"200": {"description": "The file.", "content": {down.media_type: {}}},
                              "409": _problem("The file cannot be made from the data as they are."),
                              **COMMON_ERRORS},
            },
        }
    return paths


def document(registry: Registry, mango: Any) -> dict[str, Any]:
    """The whole document (a plain dict, ready for JSON)."""
    schemas: dict[str, Any] = {
        "Problem": PROBLEM_SCHEMA,
        "PageLinks": {
            "type": "object", "additionalProperties": False, "required": ["self", "next", "prev"],
            "properties": {"self": {"type": "string"}, "next": {"type": ["string", "null"]},
                           "prev": {"type": ["string", "null"]}},
        },
    }
    paths: dict[str, Any] = {}
    tags = []
    for resource in sorted(registry, key=lambda r: r.name):
        schemas.update(_schemas(resource))
        paths.update(_paths(resource))
        tags.append({"name": resource.name, "description": resource.description or resource.title})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mango REST API", "version": __version__, "description": DESCRIPTION,
                 "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "security": [{"bearer": []}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "mango_ + 43 characters",
                                           "description": "A personal API token of a member of staff."}},
            "parameters": {
                "limit": {"name": "limit", "in": "query", "required": False, "description": "Objects per page.",
                          "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                "offset": {"name": "offset", "in": "query", "required": False,
                           "description": "Objects to skip.",
                           "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0}},
                "IdempotencyKey": {
                    "name": idempotency.HEADER, "in": "header", "required": False,
                    "description": "Makes a retry safe: the same key replays the first answer for 24 hours.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
                },
            },
            "schemas": schemas,
        },
    }


def problem_kinds() -> list[tuple[str, str, int]]:
    """(type slug, title, status) of every kind of problem, for the documentation page."""
    kinds = [(slug, title, status) for status, (slug, title) in sorted(KINDS.items())]
    kinds.append((*IDEMPOTENCY_MISMATCH, 422))
    return kinds


# --- the documentation page ------------------------------------------------------------------


def for_page(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document with shared parameters written out where they are used."""
    page = copy.deepcopy(doc)
    shared = page["components"]["parameters"]
    for item in page["paths"].values():
        for op in [item, *(v for k, v in item.items() if k in ("get", "post", "patch", "delete"))]:
            if "parameters" in op:
                op["parameters"] = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                                    for p in op["parameters"]]
    return page


def label(schema: dict[str, Any] | None) -> Markup:
    """A short description of a schema: its type and limits, a link for a named schema."""
    if not schema:
        return Markup("")
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return Markup('<a href="#schema-{0}"><code>{0}</code></a>').format(name)
    if "anyOf" in schema:
        return Markup(" | ").join(label(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    text = " | ".join(str(k) for k in kinds)
    if kinds[0] == "array":
        text = f"array of {label(schema.get('items'))}"
        return Markup(text)
    notes = []
    if "format" in schema:
        notes.append(schema["format"])
    if "enum" in schema:
        notes.append("one of " + ", ".join("null" if v is None else str(v) for v in schema["enum"]))
    if "minimum" in schema or "maximum" in schema:
        notes.append(f"{schema.get('minimum', '')}…{schema.get('maximum', '')}")
    if "maxLength" in schema:
        notes.append(f"≤ {schema['maxLength']} chars")
    if schema.get("pattern") and schema["pattern"] != NO_NUL:
        notes.append(f"pattern {schema['pattern']}")
    return escape(text + (f" ({'; '.join(notes)})" if notes else ""))
