"""The example plugin's REST API resource: its notes, at /api/v1/example-notes.

A third-party plugin declares a resource and gets token auth, the location scope, pagination,
problem+json errors, Idempotency-Key and its part of the OpenAPI document from the core.
"""

from __future__ import annotations

from typing import Any

from mango_core.api.fields import CREATE, Field
from mango_core.api.resources import ApiCall, ApiResource
from mango_core.plugins import hookimpl


def _add(call: ApiCall, data: dict[str, Any]) -> Any:
    from mango_example import service

    return service.add_note(call.session, data["text"], call.actor)


@hookimpl
def mango_api_resources():  # noqa: ANN201
    from mango_example.models import ExampleNote

    return [ApiResource(
        name="example-notes",
        model=ExampleNote,
        title="notes",
        description="Short notes kept per location (the example plugin).",
        read_permission="example.notes.view",
        write_permission="example.notes.manage",
        default_sort="-created_at",
        fields=(
            # some text besides blanks, and never a NUL
            Field("text", required=True, max_length=500, pattern="^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
                  input=CREATE, filter=("eq",)),
            Field("author_id", "integer", nullable=True),
            Field("created_at", "datetime", filter=("gte", "lte"), sort=True),
        ),
        create=_add,
    )]
