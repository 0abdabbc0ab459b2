"""Price rules of a print product and the price of one configuration.

A product's rules (JSON kept on :class:`~mango_print.shop.models.PrintSpec`)::

    {"tables": {"paper": {"matt": "0.80", "gloss": "0.95"}, "colours": {"4/0": "1", "4/4": "1.6"}},
     "formula": "paper * grammage / 100 + colours",   # the price of one piece, without VAT
     "setup": "150",                                  # once per order
     "breaks": [[1, "1"], [500, "0.8"], [1000, "0.65"]],  # from this quantity on, the piece price x factor
     "minimum": "300"}                                # an order never costs less

Names in the formula: every parameter of the class — a parameter with a table stands for its
table's value of the chosen option, a number parameter for its number; ``quantity`` is the
``quantity`` parameter. The total is ``max(minimum, setup + quantity x piece x factor)``,
rounded once, at the end, to whole hellers (ROUND_HALF_UP); the piece price is kept exact until then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mango_core.params import DefinitionSet
from mango_core.tenancy.validators import N_
from mango_print.shop import formula
from mango_print.shop.formula import FormulaError

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999")
RULE_KEYS = ("tables", "formula", "setup", "breaks", "minimum")
NUMERIC_TYPES = ("integer", "decimal")


class PriceRuleError(FormulaError):
    """Price rules that do not fit their product's parameters."""

    default_message = N_("The price rules are not valid.")


def _amount(value: Any, what: str) -> Decimal:
    if isinstance(value, bool | float) or value is None:
        raise PriceRuleError(N_("%(what)s must be a number like 12.50."), what=what)
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise PriceRuleError(N_("%(what)s must be a number like 12.50."), what=what) from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise PriceRuleError(N_("%(what)s must be a number like 12.50."), what=what)
    return amount


@dataclass(frozen=True)
class PriceRules:
    """Checked rules; build with :meth:`from_json` (never from unchecked data)."""

    tables: dict[str, dict[str, Decimal]]
    formula: str
    tree: formula.Node
    setup: Decimal
    breaks: tuple[tuple[int, Decimal], ...]
    minimum: Decimal

    @classmethod
    def from_json(cls, data: Any, defs: DefinitionSet) -> PriceRules:
        """Check ``data`` against the class's parameters; :class:`PriceRuleError` on anything wrong."""
        if not isinstance(data, Mapping):
            raise PriceRuleError(N_("Price rules must be a JSON object."))
        unknown = sorted(str(k) for k in data if k not in RULE_KEYS)
        if unknown:
            raise PriceRuleError(N_("Unknown fields in the price rules: %(fields)s."), fields=", ".join(unknown))
        tables: dict[str, dict[str, Decimal]] = {}
        raw_tables = data.get("tables") or {}
        if not isinstance(raw_tables, Mapping):
            raise PriceRuleError(N_("Price tables must be an object by parameter."))
        for key, table in raw_tables.items():
            pdef = defs.get(key)
            if pdef is None or pdef.type != "choice":
                raise PriceRuleError(N_("A price table needs a choice parameter; %(key)s is not one."), key=key)
            if not isinstance(table, Mapping):
                raise PriceRuleError(N_("The price table of %(key)s must map options to prices."), key=key)
            options = {value for value, _label in pdef.choices}
            missing = sorted(options - set(table))
            extra = sorted(set(table) - options)
            if missing or extra:
                raise PriceRuleError(N_("The price table of %(key)s must price exactly its options (%(options)s)."),
                                     key=key, options=", ".join(sorted(options)))
            tables[key] = {option: _amount(price, f"{key}: {option}") for option, price in table.items()}
        allowed = set(tables) | {p.key for p in defs if p.type in NUMERIC_TYPES}
        if "quantity" not in defs or defs.get("quantity").type != "integer":
            raise PriceRuleError(N_("A print product's class needs a whole-number parameter quantity."))
        text = str(data.get("formula") or "").strip()
        tree = formula.check(text, allowed)
        raw_breaks = data.get("breaks") or [[1, "1"]]
        if not isinstance(raw_breaks, list) or not raw_breaks:
            raise PriceRuleError(N_("Quantity breaks must be a list of [from quantity, factor]."))
        breaks = []
        for item in raw_breaks:
            if not (isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], int)
                    and not isinstance(item[0], bool) and item[0] >= 1):
                raise PriceRuleError(N_("Quantity breaks must be a list of [from quantity, factor]."))
            breaks.append((item[0], _amount(item[1], str(item[0]))))
        breaks.sort()
        if len({q for q, _f in breaks}) != len(breaks):
            raise PriceRuleError(N_("A quantity break is given twice."))
        return cls(tables=tables, formula=text, tree=tree, setup=_amount(data.get("setup") or 0, "setup"),
                   breaks=tuple(breaks), minimum=_amount(data.get("minimum") or 0, "minimum"))

    def to_json(self) -> dict[str, Any]:
        return {"tables": {k: {o: str(p) for o, p in t.items()} for k, t in self.tables.items()},
                "formula": self.formula, "setup": str(self.setup),
                "breaks": [[q, str(f)] for q, f in self.breaks], "minimum": str(self.minimum)}

    def factor(self, quantity: int) -> Decimal:
        """The factor of the highest break not above ``quantity`` (1 below the first break)."""
        found = Decimal(1)
        for start, factor in self.breaks:
            if quantity >= start:
                found = factor
        return found


@dataclass(frozen=True)
class Quote:
    """The price of one configuration, without VAT, and how it came about."""

    quantity: int
    piece: Decimal  # exact, before the quantity factor
    factor: Decimal
    setup: Decimal
    computed: Decimal  # setup + quantity x piece x factor, rounded
    minimum_applied: bool
    total: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "piece": str(self.piece.quantize(Decimal("0.0001"), ROUND_HALF_UP)),
                "factor": str(self.factor), "setup": str(self.setup), "computed": str(self.computed),
                "minimum_applied": self.minimum_applied, "total": str(self.total)}


def variables(rules: PriceRules, defs: DefinitionSet, values: Mapping[str, Any]) -> dict[str, Decimal]:
    """The formula's names for checked parameter values (JSON-safe, as :func:`validate_values` gives)."""
    found: dict[str, Decimal] = {}
    for pdef in defs:
        value = values.get(pdef.key)
        if pdef.key in rules.tables:
            if value is not None:
                found[pdef.key] = rules.tables[pdef.key][str(value)]
        elif pdef.type in NUMERIC_TYPES and value is not None:
            found[pdef.key] = Decimal(str(value))
    return found


def quote(rules: PriceRules, defs: DefinitionSet, values: Mapping[str, Any]) -> Quote:
    """The price of checked ``values``; a formula name without a value raises :class:`FormulaError`."""
    quantity = values.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise PriceRuleError(N_("Enter a quantity of at least 1."), field="quantity")
    piece = formula.evaluate(rules.tree, variables(rules, defs, values))
    if piece < 0:
        raise PriceRuleError(N_("The price formula gives a negative price."))
    factor = rules.factor(quantity)
    computed = (rules.setup + quantity * piece * factor).quantize(CENT, ROUND_HALF_UP)
    total = max(computed, rules.minimum.quantize(CENT, ROUND_HALF_UP))
    if total > MAX_AMOUNT:
        raise PriceRuleError(N_("The price is too high: ask us for an offer."))
    return Quote(quantity=quantity, piece=piece, factor=factor, setup=rules.setup, computed=computed,
                 minimum_applied=total != computed, total=total)
