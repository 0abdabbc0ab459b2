"""What every page of the shell shows: menu, location switcher, languages, version."""

from __future__ import annotations

from collections import OrderedDict

from flask import g, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from mango_core import __version__
from mango_core.kernel import current_mango
from mango_core.tenancy.models import Location
from mango_core.web.changelog import release_date
from mango_core.web.menu import SECTIONS
from mango_core.web.request import db


def _section_labels() -> dict:
    from flask_babel import lazy_gettext as _l

    return {
        "main": _l("Overview"),
        "customers": _l("Customers"),
        "billing": _l("Billing"),
        "network": _l("Network"),
        "support": _l("Support"),
        "admin": _l("Administration"),
    }


def visible_menu() -> OrderedDict:
    """Menu items the user may open in the current location, grouped by section."""
    mango = current_mango()
    if not current_user.is_authenticated:
        return OrderedDict()
    active = g.get("active_modules", set())
    perms = g.get("permissions", set())
    sections: OrderedDict = OrderedDict((s, []) for s in SECTIONS)
    for item in mango.menu_items:
        if item.plugin != "core" and item.plugin not in active:
            continue
        if item.permission and item.permission not in perms:
            continue
        sections.setdefault(item.section, []).append(item)
    return OrderedDict((k, v) for k, v in sections.items() if v)


def switchable_locations() -> list[Location]:
    ids = g.get("allowed_location_ids") or []
    if not ids:
        return []
    return list(db().scalars(select(Location).where(Location.id.in_(ids)).order_by(Location.code)))


def current_location() -> Location | None:
    location_id = g.get("location_id")
    return db().get(Location, location_id) if location_id else None  # the identity map caches it


def render_slot(slot: str, **context) -> Markup:
    """HTML from plugins enabled here for a named slot of a core page."""
    mango = current_mango()
    active = mango.plugins.active_names(g.get("location_id")) if "active_modules" not in g else g.active_modules
    parts = mango.plugins.contributions("mango_template_slot", only=active, slot=slot, context=context)
    return Markup("\n".join(str(html) for _plugin, html in parts))


def context() -> dict:
    return {
        "menu_sections": visible_menu,
        "section_labels": _section_labels,
        "switchable_locations": switchable_locations,
        "current_location": current_location,
        "render_slot": render_slot,
        "current_locale": lambda: str(get_locale()),
        "offered_locales": current_mango().settings["locales"],
        "mango_version": __version__,
        "mango_release_date": release_date(),
        "url_for": url_for,
    }
