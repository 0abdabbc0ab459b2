"""The billing plugin's REST API resources: invoices (read, PDF) and payments (create, read)."""

from __future__ import annotations

from mango_core.plugins import hookimpl


@hookimpl
def mango_api_resources():  # noqa: ANN201
    from mango_billing.api import RESOURCES

    return list(RESOURCES)
