"""The template sandbox: untrusted partner-written Jinja2 gets data, not the application."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mango_core.documents.sandbox import TemplateProblem, check, make_environment, render

UNSAFE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__ }}",
    "{{ customer._secret }}",
    "{{ customer['_secret'] }}",
    "{{ customer.__init__.__globals__ }}",
    "{{ customer.update({'name': 'x'}) }}",  # immutable sandbox: no changing of dicts
    "{{ [].append(1) }}",
    "{{ 'x'.format.__self__ }}",
    "{{ 'a' * 100000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ config }}{{ request.environ }}{{ self.__init__ }}",
    "{{ range(10)|list }}",
    "{{ lipsum() }}",
    "{{ cycler.__init__.__globals__.os }}",
]


@pytest.mark.parametrize("source", UNSAFE)
def test_unsafe_code_is_refused_with_a_clear_message(source):
    with pytest.raises(TemplateProblem) as info:
        render(source, {"customer": {"name": "Jan"}})
    message = str(info.value)
    assert message.startswith(("Not allowed in a document template", "Template error")), message
    assert "Traceback" not in message


def test_private_names_are_named_in_the_message():
    with pytest.raises(TemplateProblem, match=r"private name '_secret'.*line 2") as info:
        render("ok\n{{ customer._secret }}", {"customer": {"name": "Jan", "_secret": "x"}})
    assert info.value.line == 2


def test_loading_other_templates_is_refused():
    for source in ('{% include "layout.html" %}', '{% extends "layout.html" %}', '{% import "x" as y %}',
                   '{% from "x" import y %}'):
        with pytest.raises(TemplateProblem, match="include, extend or import"):
            check(source)


def test_syntax_error_names_its_line():
    with pytest.raises(TemplateProblem, match="Syntax error on line 3") as info:
        check("a\nb\n{% for x in %}")
    assert info.value.line == 3


def test_runtime_error_is_a_template_problem():
    with pytest.raises(TemplateProblem, match="ZeroDivisionError.*line 1"):
        render("{{ 1 / 0 }}", {})


def test_autoescape_and_czech_filters():
    env = make_environment("cs", "Europe/Prague", "CZK")
    html = render("{{ name }}|{{ d|date }}|{{ m|money }}|{{ n|number }}|{{ nothing }}|{{ name|upper }}",
                  {"name": "Žluťoučký <kůň>", "d": date(2024, 3, 1), "m": Decimal("1234.5"),
                   "n": Decimal("12345.5"), "nothing": None}, env)
    assert html == "Žluťoučký &lt;kůň&gt;|1. 3. 2024|1\xa0234,50\xa0Kč|12\xa0345,5||ŽLUŤOUČKÝ &lt;KŮŇ&gt;"


def test_only_whitelisted_filters():
    env = make_environment()
    assert {"date", "money", "number", "upper", "join"} <= set(env.filters)
    assert not {"safe", "attr", "tojson", "xmlattr", "pprint", "urlize"} & set(env.filters)
    assert env.globals == {}
    with pytest.raises(TemplateProblem):
        render("{{ '<b>'|safe }}", {})
