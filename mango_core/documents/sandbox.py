"""Rendering of partner-written templates in a sandbox.

Templates are written by partner staff, so they are untrusted code: they run in Jinja2's
:class:`ImmutableSandboxedEnvironment` (no private or internal attributes, no changing of
lists or dicts), with autoescaping on, no loader (no ``include``/``extends``/``import``), no
globals, a whitelist of filters, and a context of plain values (dicts, lists, strings, dates,
decimals) built by the document kind — never ORM objects or anything of the application.
Whatever goes wrong — syntax, a refused attribute, a runtime error — comes back as one
:class:`TemplateProblem` with a message fit for the editor.
"""

from __future__ import annotations

import operator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import TemplateSyntaxError, nodes
from jinja2 import filters as builtin_filters
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Builtin filters that only transform values (attribute lookups go through the sandbox). Left out:
# ``safe`` (customer data would become markup), ``attr``, ``tojson``, ``xmlattr``, ``urlize``, ``pprint``.
SAFE_BUILTIN_FILTERS = (
    "abs", "capitalize", "center", "default", "d", "escape", "e", "first", "float", "format", "indent", "int",
    "join", "last", "length", "count", "list", "lower", "max", "min", "replace", "reverse", "round",
    "select", "reject", "selectattr", "rejectattr", "map", "sort", "string", "striptags", "sum", "title", "trim",
    "truncate", "unique", "upper", "wordcount", "wordwrap", "batch", "slice", "groupby", "dictsort", "filesizeformat",
)
MAX_OUTPUT = 2_000_000  # characters of HTML: more is a runaway template, not a document
MAX_SEQUENCE = 100_000


class TemplateProblem(ValueError):
    """A template cannot be rendered; ``str()`` is a message for the editor, ``line`` where known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _locale(value: str | None) -> str:
    return {"cs": "cs_CZ", "en": "en_GB"}.get(value or "cs", value or "cs_CZ")


class DocumentEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` limited (``'x' * 10**10`` would exhaust the memory)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator_name, left, right):  # noqa: ANN001, ANN201
        if operator_name == "**":
            raise SecurityError("the power operator is not allowed in document templates")
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
                raise SecurityError("a repeated text or list would be too long")
        return operator.mul(left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(attribute, str) and attribute.startswith("_"):
            raise SecurityError(f"access to the private name {attribute!r} is not allowed")
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and argument.startswith("_"):
            raise SecurityError(f"access to the private name {argument!r} is not allowed")
        return super().getitem(obj, argument)


def make_environment(locale: str = "cs", timezone: str = "Europe/Prague", currency: str = "CZK") -> DocumentEnvironment:
    """A fresh sandbox whose date, money and number filters speak the location's language."""
    loc = _locale(locale)
    zone = ZoneInfo(timezone)

    def date_filter(value: Any, fmt: str = "medium") -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            return format_datetime(value.astimezone(zone), fmt, locale=loc)
        if isinstance(value, date):
            return format_date(value, fmt, locale=loc)
        return str(value)

    def money_filter(value: Any, cur: str | None = None) -> str:
        if value is None or value == "":
            return ""
        try:
            amount = Decimal(str(value))
        except ArithmeticError:
            return str(value)
        return format_currency(amount, cur or currency, locale=loc)

    def number_filter(value: Any) -> str:
        if value is None or value == "":
            return ""
        try:
            return format_decimal(Decimal(str(value)), locale=loc)
        except ArithmeticError:
            return str(value)

    env = DocumentEnvironment(autoescape=True, loader=None, finalize=lambda v: "" if v is None else v)
    env.filters = {name: builtin_filters.FILTERS[name] for name in SAFE_BUILTIN_FILTERS}
    env.filters.update(date=date_filter, datetime=date_filter, money=money_filter, number=number_filter)
    env.globals = {}
    env.tests = dict(env.tests)
    return env


def _refuse_loading(source: nodes.Template) -> None:
    for node in source.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        raise TemplateProblem("Templates cannot include, extend or import other templates.", node.lineno)


def check(body: str, env: DocumentEnvironment | None = None) -> None:
    """Parse a template (syntax only); raise :class:`TemplateProblem`."""
    env = env or make_environment()
    try:
        _refuse_loading(env.parse(body))
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Syntax error on line {exc.lineno}: {exc.message}", exc.lineno) from exc


def render(body: str, context: dict[str, Any], env: DocumentEnvironment | None = None) -> str:
    """Render a template body with a context of plain values; raise :class:`TemplateProblem`."""
    env = env or make_environment()
    check(body, env)
    try:
        html = env.from_string(body).render(context)
    except SecurityError as exc:
        raise TemplateProblem(_at(f"Not allowed in a document template: {exc}", exc), _line(exc)) from exc
    except TemplateError as exc:
        raise TemplateProblem(_at(f"Template error: {exc.message or exc}", exc), _line(exc)) from exc
    except RecursionError as exc:
        raise TemplateProblem("Template error: the template nests too deep") from exc
    except Exception as exc:  # noqa: BLE001 - partner-written code may fail in any way; it must not be a 500
        raise TemplateProblem(_at(f"Template error: {type(exc).__name__}: {exc}", exc), _line(exc)) from exc
    if len(html) > MAX_OUTPUT:
        raise TemplateProblem("The document is too long (a runaway loop in the template?)")
    return html


def _line(exc: BaseException) -> int | None:
    """The template line where a runtime error happened (Jinja rewrites tracebacks to name it)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _at(message: str, exc: BaseException) -> str:
    line = _line(exc)
    return f"{message} (line {line})" if line else message
