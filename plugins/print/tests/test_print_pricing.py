"""Price formulas (a parser, never eval) and price rules: tables, formulas, quantity breaks, minimum."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mango_core.params import DefinitionSet, ParamDef, validate_values
from mango_print.shop import formula
from mango_print.shop.formula import FormulaError
from mango_print.shop.pricing import PriceRuleError, PriceRules, quote
from mango_print.shop.products import standard_params
from mango_print.testing import RULES

DEFS = DefinitionSet(tuple(standard_params()))


def value(text: str, **names: str) -> Decimal:
    return formula.evaluate(formula.parse(text), {k: Decimal(v) for k, v in names.items()})


def test_formula_arithmetic_is_decimal_and_follows_precedence():
    assert value("1 + 2 * 3") == Decimal("7")
    assert value("(1 + 2) * 3") == Decimal("9")
    assert value("0,1 + 0.2") == Decimal("0.3")  # Decimal: no 0.30000000000000004
    assert value("-2 * -3") == Decimal("6")
    assert value("10 / 4") == Decimal("2.5")
    assert value("min(3, a, 9) + max(1, 2) + ceil(1.2) + floor(1.8)", a="2") == Decimal("7")
    assert value("paper * grammage / 100", paper="0.8", grammage="250") == Decimal("2")


@pytest.mark.parametrize("text", [
    "__import__('os')", "a.b", "1 +", "(1", "1)", "foo(1)", "1 ** 2", "ceil(1, 2)", "", "a[0]", "lambda: 1",
    "1" * 501, "-" * 40 + "1", "(" * 40 + "1" + ")" * 40,
])
def test_formula_refuses_what_is_not_arithmetic(text):
    with pytest.raises(FormulaError):
        formula.evaluate(formula.parse(text), {"a": Decimal(1)})


def test_formula_names_are_checked_and_division_by_zero_is_an_error():
    with pytest.raises(FormulaError, match="unknown names: secret"):
        formula.check("paper + secret", {"paper"})
    with pytest.raises(FormulaError, match="divides by zero"):
        value("1 / (a - 1)", a="1")


@given(st.text(max_size=60))
def test_formula_parser_never_crashes_on_garbage(text):
    try:
        node = formula.parse(text)
    except FormulaError:
        return
    try:
        formula.evaluate(node, {})
    except FormulaError:
        pass


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 10**6))
def test_formula_matches_exact_decimal_arithmetic(a, b, c):
    assert value("(a + b) * c / c", a=str(a), b=str(b), c=str(c)) == Decimal(a + b)


def rules(**changes):  # noqa: ANN003, ANN201
    return PriceRules.from_json({**RULES, **changes}, DEFS)


def price(**params):  # noqa: ANN003, ANN201
    base = {"format": "A5", "paper": "matt", "grammage": "170", "colours": "4/4", "finishing": "none",
            "quantity": "100"}
    values = validate_values(DEFS, {**base, **params})
    return quote(rules(), DEFS, values)


def test_price_from_tables_formula_and_setup():
    # A5: 2 x (0.80 x 170/170 + 1.60) + 0 = 4.80 a piece; 150 + 100 x 4.80 = 630
    q = price()
    assert q.piece == Decimal("4.80")
    assert q.factor == Decimal("1")
    assert q.total == Decimal("630.00")
    assert not q.minimum_applied
    # gloss, 4/0, matt lamination, 300 g: 2 x (0.95 x 300/170 + 1) + 0.5 = 5.8529…
    q = price(paper="gloss", colours="4/0", finishing="matt_lam", grammage="300")
    assert q.total == (Decimal("150") + 100 * (2 * (Decimal("0.95") * 300 / 170 + 1) + Decimal("0.5"))).quantize(
        Decimal("0.01"))


def test_quantity_breaks_apply_from_their_quantity():
    assert price(quantity="499").factor == Decimal("1")
    assert price(quantity="500").factor == Decimal("0.8")
    assert price(quantity="500").total == Decimal("150") + Decimal("500") * Decimal("4.80") * Decimal("0.8")
    assert price(quantity="999").factor == Decimal("0.8")
    assert price(quantity="1000").total == Decimal("3270.00")  # 150 + 1000 x 4.80 x 0.65
    # more pieces never cost less in total than fewer pieces of the same break
    assert price(quantity="1000").total > price(quantity="999").total - Decimal("1000")


def test_minimum_price():
    q = price(quantity="10", format="A6")  # 150 + 10 x 2.40 = 174 < 400
    assert q.computed == Decimal("174.00")
    assert q.total == Decimal("400.00")
    assert q.minimum_applied


def test_total_is_rounded_half_up_once_at_the_end():
    r = rules(formula="0.005", setup="0", minimum="0")
    values = validate_values(DEFS, {"format": "A5", "paper": "matt", "grammage": "170", "colours": "4/4",
                                    "finishing": "none", "quantity": "1"})
    assert quote(r, DEFS, values).total == Decimal("0.01")  # 0.005 -> 0.01 (not banker's 0.00)
    values["quantity"] = 3
    assert quote(r, DEFS, values).total == Decimal("0.02")  # 0.015 -> 0.02: the piece is not rounded first


@pytest.mark.parametrize("changes, message", [
    ({"tables": {"paper": {"matt": "1"}}}, "exactly its options"),
    ({"tables": {"grammage": {"170": "1"}}}, "needs a choice parameter"),
    ({"tables": {"paper": {"matt": "x", "gloss": "1"}}}, "must be a number"),
    ({"formula": "paper * unknown"}, "unknown names"),
    ({"formula": "eval(1)"}, "Unknown function"),
    ({"formula": "eval('1')"}, "Unexpected character"),
    ({"breaks": [[0, "1"]]}, "Quantity breaks"),
    ({"breaks": [[10, "1"], [10, "0.9"]]}, "given twice"),
    ({"minimum": "-1"}, "must be a number"),
    ({"minimum": 1.5}, "must be a number"),
    ({"surprise": 1}, "Unknown fields"),
])
def test_bad_rules_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(PriceRuleError if "formula" not in changes else FormulaError, match=message):
        rules(**changes)


def test_rules_need_a_quantity_parameter():
    defs = DefinitionSet((ParamDef("paper", "Papír", "choice", choices=(("a", "A"),)),))
    with pytest.raises(PriceRuleError, match="quantity"):
        PriceRules.from_json({"formula": "1"}, defs)


def test_rules_round_trip_through_json():
    r = rules()
    assert PriceRules.from_json(r.to_json(), DEFS) == r


@given(st.integers(1, 100_000), st.sampled_from(["A4", "A5", "A6", "85x55"]), st.sampled_from(["4/0", "4/4"]))
def test_prices_are_exact_at_least_the_minimum_and_grow_within_a_break(quantity, size, colours):
    q = price(quantity=str(quantity), format=size, colours=colours)
    assert q.total >= Decimal("400") and q.total == q.total.quantize(Decimal("0.01"))
    expected = (Decimal("150") + quantity * q.piece * q.factor).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert q.total == max(expected, Decimal("400.00"))
    if quantity + 1 not in (500, 1000):
        assert price(quantity=str(quantity + 1), format=size, colours=colours).total >= q.total
