"""Words shown for states, verdicts and preflight checks (translated per request), and the one
``render`` that gives them to every print template."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import gettext as _

from mango_print.shop.orders import STATE_LABELS


def state_label(state: str) -> str:
    return _(STATE_LABELS.get(state, state))


def verdict_label(verdict: str) -> str:
    labels = {"ok": _("OK: ready to print"), "warning": _("OK with warnings"),
              "fail": _("Failed: cannot be printed")}
    return labels.get(verdict, verdict)


def check_label(code: str) -> str:
    labels = {"file": _("File"), "pages": _("Page count"), "size": _("Page size and bleed"), "fonts": _("Fonts"),
              "colours": _("Colour spaces"), "images": _("Image resolution")}
    return labels.get(code, code)


def check_message(check: dict[str, Any]) -> str:
    """A stored preflight message (an English msgid and its values) in the request's language."""
    return _(str(check.get("message", "")), **dict(check.get("params") or {}))


def render(template: str, **context: Any) -> str:
    return render_template(template, state_label=state_label, verdict_label=verdict_label, check_label=check_label,
                           check_message=check_message, **context)
