"""The core's documents module, registered through the hooks like any plugin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl


@hookimpl
def mango_models() -> list[type]:
    from mango_core.documents import models

    return [models.DocumentTemplate, models.DocumentTemplateVersion, models.Document]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.documents.view", _l("View and download customer documents")),
        Permission("core.documents.generate", _l("Generate customer documents")),
        Permission("core.document_templates.manage", _l("Edit document templates")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.documents.views import bp

    return [bp]


@hookimpl
def mango_menu_items():  # noqa: ANN201
    from mango_core.documents.views import MENU

    return list(MENU)


@hookimpl
def mango_document_kinds():  # noqa: ANN201
    from mango_core.documents.kinds import core_kinds

    return core_kinds()


@hookimpl
def mango_customer_card(customer):  # noqa: ANN001, ANN201
    from mango_core.customers.card import CardPart
    from mango_core.documents.views import render_customer_tab

    return [CardPart("documents", _l("Documents"), render_customer_tab, order=800,
                     permission="core.documents.view", icon="file-earmark-text")]
