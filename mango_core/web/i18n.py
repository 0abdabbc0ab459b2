"""Languages: Czech by default, English on request; catalogues of the core and every plugin.

The locale is chosen by the user (the switcher stores it in the session and on the user), never
guessed from the browser, so a Czech ISP gets Czech screens whatever the workstation says.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency, format_decimal
from flask import Flask, has_request_context, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from mango_core.kernel import Mango, current_mango


def translation_dirs(mango: Mango) -> list[str]:
    return [path for _, path in mango.plugins.contributions("mango_translations") if Path(path).is_dir()]


def select_locale() -> str:
    settings = current_mango().settings
    if not has_request_context():  # CLI, jobs: the configured default
        return settings["default_locale"]
    offered = settings["locales"]
    chosen = session.get("locale")
    if chosen in offered:
        return chosen
    if current_user and current_user.is_authenticated and current_user.user.locale in offered:
        return current_user.user.locale
    return settings["default_locale"]


def select_timezone() -> str:
    return current_mango().settings["default_timezone"]


def money(amount: Decimal | None, currency: str = "CZK") -> str:
    """``1 234,50 Kč`` in Czech, ``CZK 1,234.50`` in English."""
    if amount is None:
        return ""
    return format_currency(amount, currency, locale=str(get_locale()))


def number(value: Decimal | int | None) -> str:
    return "" if value is None else format_decimal(value, locale=str(get_locale()))


def when(value: datetime | date | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, fmt)
    return format_date(value, fmt)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, number=number, when=when)
