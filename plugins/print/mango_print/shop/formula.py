"""A tiny arithmetic language for price formulas, evaluated in :class:`~decimal.Decimal` (never ``eval``).

Grammar (precedence as usual)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := "-" unary | atom
    atom   := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"

Numbers may use a decimal comma (``0,85``). Functions: ``min``, ``max``, ``ceil``, ``floor``.
A formula is parsed once (:func:`parse`) into a tree of tuples, checked against the names it may
use, and evaluated many times (:func:`evaluate`). Anything wrong raises :class:`FormulaError`
with a message for people, never a Python traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, DivisionByZero, InvalidOperation
from typing import Any

from mango_core.tenancy.validators import N_, InvalidValue

MAX_LENGTH = 500
MAX_DEPTH = 30
FUNCTIONS = ("min", "max", "ceil", "floor")
_TOKEN_RE = re.compile(r"\s*(?:(?P<num>[0-9]+(?:[.,][0-9]+)?)|(?P<name>[a-z_][a-z0-9_]*)|(?P<op>[-+*/(),]))")

Node = tuple[Any, ...]


class FormulaError(InvalidValue):
    """A formula that cannot be read or evaluated."""

    default_message = N_("The price formula is not valid.")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise FormulaError(N_("Unexpected character %(char)r in the formula."), char=text[pos:].strip()[:1])
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.pos, self.depth = tokens, 0, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise FormulaError(N_("The formula ends too early or misses %(what)s."), what=value or "a value")
        self.pos += 1
        return token

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(N_("The formula is nested too deeply."))
        node = self.term()
        while (token := self.peek()) is not None and token[1] in "+-" and token[0] == "op":
            self.pos += 1
            node = (token[1], node, self.term())
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token[1] in "*/" and token[0] == "op":
            self.pos += 1
            node = (token[1], node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token == ("op", "-"):
            self.pos += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FormulaError(N_("The formula is nested too deeply."))
            node = ("neg", self.unary())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return ("num", Decimal(value.replace(",", ".")))
        if kind == "name":
            if self.peek() == ("op", "("):
                if value not in FUNCTIONS:
                    raise FormulaError(N_("Unknown function %(name)s."), name=value)
                self.take("(")
                args = [self.expr()]
                while self.peek() == ("op", ","):
                    self.pos += 1
                    args.append(self.expr())
                self.take(")")
                if value in ("ceil", "floor") and len(args) != 1:
                    raise FormulaError(N_("%(name)s takes one value."), name=value)
                return ("call", value, tuple(args))
            return ("var", value)
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        raise FormulaError(N_("Unexpected %(token)s in the formula."), token=value)


def parse(text: Any) -> Node:
    """The tree of ``text``; :class:`FormulaError` when it is not a formula of the grammar above."""
    if not isinstance(text, str | int | Decimal) or isinstance(text, bool):
        raise FormulaError(N_("A formula is text."))
    text = str(text).strip().lower()
    if not text:
        raise FormulaError(N_("The formula is empty."))
    if len(text) > MAX_LENGTH:
        raise FormulaError(N_("A formula has at most %(max)d characters."), max=MAX_LENGTH)
    parser = _Parser(_tokens(text))
    node = parser.expr()
    if parser.peek() is not None:
        raise FormulaError(N_("Unexpected %(token)s in the formula."), token=parser.peek()[1])
    return node


def names(node: Node) -> set[str]:
    """The variables a formula reads."""
    if node[0] == "var":
        return {node[1]}
    if node[0] == "num":
        return set()
    if node[0] == "call":
        return set().union(*(names(arg) for arg in node[2]))
    return set().union(*(names(child) for child in node[1:]))


def check(text: Any, allowed: Iterable[str]) -> Node:
    """Parse ``text`` and refuse names outside ``allowed``."""
    node = parse(text)
    unknown = sorted(names(node) - set(allowed))
    if unknown:
        raise FormulaError(N_("The formula uses unknown names: %(names)s."), names=", ".join(unknown))
    return node


def evaluate(node: Node, variables: Mapping[str, Decimal]) -> Decimal:
    """The value of a parsed formula; unknown names and division by zero raise :class:`FormulaError`."""
    op = node[0]
    try:
        if op == "num":
            return node[1]
        if op == "var":
            if node[1] not in variables:
                raise FormulaError(N_("The formula uses unknown names: %(names)s."), names=node[1])
            return Decimal(variables[node[1]])
        if op == "neg":
            return -evaluate(node[1], variables)
        if op == "call":
            args = [evaluate(arg, variables) for arg in node[2]]
            if node[1] == "min":
                return min(args)
            if node[1] == "max":
                return max(args)
            rounding = ROUND_CEILING if node[1] == "ceil" else ROUND_FLOOR
            return args[0].to_integral_value(rounding=rounding)
        left, right = evaluate(node[1], variables), evaluate(node[2], variables)
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if right == 0:
            raise FormulaError(N_("The formula divides by zero."))
        return left / right
    except (InvalidOperation, DivisionByZero, OverflowError) as exc:
        raise FormulaError(N_("The formula cannot be computed.")) from exc
