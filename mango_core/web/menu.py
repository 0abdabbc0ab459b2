"""Opcare menu items contributed through ``mango_menu_items``."""

from __future__ import annotations

from dataclasses import dataclass

# Sections in display order; a plugin may use its own section name too (shown after these).
SECTIONS = ("main", "customers", "billing", "network", "support", "admin")


@dataclass
class MenuItem:
    label: str  # a lazy_gettext string, so it is translated per request
    endpoint: str
    permission: str | None
    section: str = "main"
    order: int = 100
    icon: str = ""
    plugin: str = ""  # set by the kernel from the contributing plugin
