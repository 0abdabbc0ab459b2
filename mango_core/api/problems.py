"""Errors of the REST API as RFC 9457 problem details (``application/problem+json``).

Every error answer has ``type`` (a URI naming the kind of problem, documented at
``/api/v1/docs``), ``title`` (the same for every problem of the type), ``status`` and ``detail``
(this occurrence, in the request's language); a validation problem adds ``errors``: one
``{"pointer", "field", "detail"}`` per bad value, ``pointer`` being a JSON Pointer into the body
(or the name of the query parameter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Response, has_request_context, request
from flask_babel import gettext

from mango_core.tenancy.validators import N_

PROBLEM_JSON = "application/problem+json"

# status -> (type slug, title); titles are fixed English text, as the RFC wants them stable
KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    406: ("not-acceptable", "Not Acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Content Too Large"),
    415: ("unsupported-media-type", "Unsupported Media Type"),
    422: ("validation-error", "Unprocessable Content"),
    500: ("server-error", "Internal Server Error"),
}
# other kinds with their own type (same status as above, a different meaning)
IDEMPOTENCY_MISMATCH = ("idempotency-key-reused", "Idempotency Key Reused")


def problem_type(slug: str) -> str:
    """A URI reference to the problem's explanation on the API's documentation page."""
    root = request.script_root if has_request_context() else ""
    return f"{root}/api/v1/docs#problem-{slug}"


@dataclass
class FieldError:
    field: str
    detail: str
    in_query: bool = False

    def as_dict(self) -> dict[str, str]:
        if self.in_query or not self.field:
            pointer = self.field
        else:
            pointer = "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in self.field.split("."))
        return {"pointer": pointer, "field": self.field, "detail": self.detail}


@dataclass
class ApiProblem(Exception):
    """Raised anywhere in a request of the API; answered as problem+json, nothing committed.

    ``detail`` is an untranslated message (``N_``) with ``params``; it is translated when the
    answer is made, in the request's language.
    """

    status: int
    detail: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    kind: tuple[str, str] | None = None  # (type slug, title) when not the status's own

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        slug, title = self.kind or KINDS.get(self.status, ("about:blank", ""))
        body: dict[str, Any] = {
            "type": problem_type(slug),
            "title": title,
            "status": self.status,
            "detail": translate(self.detail, self.params) if self.detail else title,
        }
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body

    def response(self) -> Response:
        return problem_response(self.body(), self.headers)


def translate(message: str, params: dict[str, Any] | None = None) -> str:
    return gettext(message, **(params or {}))


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=body["status"], mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def not_found() -> ApiProblem:
    return ApiProblem(404, N_("There is nothing at this address, or it is not yours to see."))


def validation(errors: list[FieldError], detail: str = N_("Some values are not valid.")) -> ApiProblem:
    return ApiProblem(422, detail, errors=errors)


def bad_query(errors: list[FieldError]) -> ApiProblem:
    for error in errors:
        error.in_query = True
    return ApiProblem(400, N_("Some query parameters are not valid."), errors=errors)


# The problem schema of the OpenAPI document (every error answer matches it).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem detail.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "description": "Names the kind of problem."},
        "title": {"type": "string", "description": "Short summary, the same for every problem of the type."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong this time (in the request's language)."},
        "errors": {
            "type": "array",
            "description": "The values that are not valid (validation problems).",
            "items": {
                "type": "object",
                "required": ["pointer", "field", "detail"],
                "properties": {
                    "pointer": {"type": "string", "description": "JSON Pointer into the body, or the query parameter."},
                    "field": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
