"""Parameter definitions and versioned sets of them.

A :class:`ParamDef` checks itself when it is made, whether in a plugin's code or from JSON stored by
a partner, so an invalid definition never exists; ``to_dict``/``from_dict`` keep it in a JSON column.
A :class:`DefinitionSet` is the versioned list of a service class, device type or customer form:
services keep the version their values were validated against.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mango_core.params.errors import DefinitionError, ParamValueError
from mango_core.params.types import MAX_PLACES, JSONValue, ParamType, Resolvers, get_type, is_empty
from mango_core.tenancy.validators import N_

KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_LABEL_LENGTH = 200
MAX_REGEX_LENGTH = 500


def _setattr(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass in __post_init__


@dataclass(frozen=True)
class ParamDef:
    """One typed parameter.

    ``min``/``max`` bound the value of numbers and dates and the length of text; ``regex`` must match
    the whole text; ``choices`` are ``(value, label)`` pairs of a choice; ``places`` fixes the decimal
    places of a decimal. ``customer_editable``: the customer may change it in Selfcare;
    ``on_invoice``: it is printed on invoices.
    """

    key: str
    label: str
    type: str
    required: bool = False
    default: Any = None
    min: Any = None
    max: Any = None
    regex: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    places: int | None = None
    unit: str = ""
    customer_editable: bool = False
    on_invoice: bool = False
    help: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not KEY_RE.fullmatch(self.key):
            raise DefinitionError(N_("%(key)s is not a valid parameter key: use a lower-case letter, then up to "
                                     "39 lower-case letters, digits or underscores."), key=self.key)
        if not isinstance(self.label, str) or not self.label.strip() or len(self.label) > MAX_LABEL_LENGTH:
            raise DefinitionError(N_("Parameter %(key)s needs a label of at most %(max)d characters."),
                                  key=self.key, max=MAX_LABEL_LENGTH)
        _setattr(self, "label", self.label.strip())
        kind = get_type(self.type)
        for name in ("required", "customer_editable", "on_invoice"):
            if not isinstance(getattr(self, name), bool):
                raise DefinitionError(N_("%(name)s of parameter %(key)s must be true or false."),
                                      name=name, key=self.key)
        for name in ("unit", "help"):
            if not isinstance(getattr(self, name), str):
                raise DefinitionError(N_("%(name)s of parameter %(key)s must be text."), name=name, key=self.key)
        self._check_options(kind)
        kind.define(self)
        self._check_bounds(kind)
        self._check_default(kind)

    def _check_options(self, kind: ParamType) -> None:
        if is_empty(self.regex):
            _setattr(self, "regex", None)
        if not self.choices:
            _setattr(self, "choices", ())
        given = {"regex": self.regex is not None, "choices": bool(self.choices), "places": self.places is not None}
        for name, present in given.items():
            if present and name not in kind.options:
                raise DefinitionError(N_("A parameter of type %(type)s cannot have %(name)s (%(key)s)."),
                                      type=self.type, name=name, key=self.key)
        if self.regex is not None:
            if not isinstance(self.regex, str) or len(self.regex) > MAX_REGEX_LENGTH:
                raise DefinitionError(N_("The pattern of parameter %(key)s must be text of at most %(max)d "
                                         "characters."), key=self.key, max=MAX_REGEX_LENGTH)
            try:
                re.compile(self.regex)
            except (re.error, RecursionError, OverflowError) as exc:
                raise DefinitionError(N_("The pattern of parameter %(key)s is not a valid regular expression: "
                                         "%(error)s"), key=self.key, error=str(exc)) from exc
        if self.choices:
            _setattr(self, "choices", _choices(self.key, self.choices))
        if self.places is not None and (isinstance(self.places, bool) or not isinstance(self.places, int)
                                        or not 0 <= self.places <= MAX_PLACES):
            raise DefinitionError(N_("Decimal places of parameter %(key)s must be a whole number from 0 to "
                                     "%(max)d."), key=self.key, max=MAX_PLACES)

    def _check_bounds(self, kind: ParamType) -> None:
        for name in ("min", "max"):
            if is_empty(getattr(self, name)):
                _setattr(self, name, None)  # a blank field of a definition form
        if (self.min is not None or self.max is not None) and not kind.bounded:
            raise DefinitionError(N_("A parameter of type %(type)s cannot have a minimum or a maximum (%(key)s)."),
                                  type=self.type, key=self.key)
        messages = {"min": N_("The minimum of parameter %(key)s is not valid: %(error)s"),
                    "max": N_("The maximum of parameter %(key)s is not valid: %(error)s")}
        for name, message in messages.items():
            if getattr(self, name) is not None:
                try:
                    _setattr(self, name, kind.convert_bound(getattr(self, name), self.key))
                except ParamValueError as exc:
                    raise DefinitionError(message, key=self.key, error=str(exc)) from exc
        if self.min is not None and self.max is not None and self.min > self.max:
            raise DefinitionError(N_("The minimum of parameter %(key)s is greater than its maximum."), key=self.key)

    def _check_default(self, kind: ParamType) -> None:
        if is_empty(self.default):
            _setattr(self, "default", None)
            return
        try:
            _setattr(self, "default", kind.parse(self, self.default))
        except ParamValueError as exc:
            raise DefinitionError(N_("The default of parameter %(key)s is not valid: %(error)s"),
                                  key=self.key, error=str(exc)) from exc

    @property
    def kind(self) -> ParamType:
        return get_type(self.type)

    def parse(self, raw: Any, *, resolvers: Resolvers | None = None) -> Any:
        """The Python value of user input or a JSON value; :class:`ParamValueError` if it does not fit."""
        return self.kind.parse(self, raw, resolvers)

    def to_json(self, value: Any) -> JSONValue:
        return None if value is None else self.kind.to_json(value)

    def from_json(self, data: JSONValue) -> Any:
        """A stored value back in Python (its type only: the rules may have changed since)."""
        return None if data is None else self.kind.from_json(data, self.key)

    def display(self, value: Any, locale: str) -> str:
        """The value for people, in ``locale`` (``1 234,5 Mbit/s`` in Czech); empty for no value."""
        if value is None:
            return ""
        text = self.kind.format(self, value, locale)
        return f"{text}\u00a0{self.unit}" if self.unit else text

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind
        data = dataclasses.asdict(self)
        data.update(
            default=self.to_json(self.default),
            min=None if self.min is None else kind.bound_to_json(self.min),
            max=None if self.max is None else kind.bound_to_json(self.max),
            choices=[list(choice) for choice in self.choices],
        )
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ParamDef:
        """A definition from JSON; anything wrong in it raises :class:`DefinitionError`."""
        if not isinstance(data, Mapping):
            raise DefinitionError(N_("A parameter definition must be a JSON object."))
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = [str(name) for name in data if name not in names]
        if unknown:
            raise DefinitionError(N_("Unknown fields in a parameter definition: %(fields)s."),
                                  fields=", ".join(sorted(unknown)))
        missing = [name for name in ("key", "label", "type") if name not in data]
        if missing:
            raise DefinitionError(N_("A parameter definition needs %(fields)s."), fields=", ".join(missing))
        return cls(**data)


def _choices(key: str, raw: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    if isinstance(raw, list | tuple):
        for item in raw:
            if not (isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(p, str) for p in item)):
                break
            value, label = item[0].strip(), item[1].strip()
            if not value or not label:
                break
            pairs.append((value, label))
        else:
            values = [value for value, _ in pairs]
            for value in values:
                if values.count(value) > 1:
                    raise DefinitionError(N_("Parameter %(key)s offers the value %(value)s twice."),
                                          key=key, value=value)
            return tuple(pairs)
    raise DefinitionError(N_("The choices of parameter %(key)s must be pairs of a value and a label."), key=key)


@dataclass(frozen=True)
class DefinitionSet:
    """The ordered parameters of one thing (a service class, a device type…) at one version.

    A change makes a new version (:meth:`changed`); the old one is kept as long as values refer to it,
    so existing services keep values that were valid when they were entered.
    """

    params: tuple[ParamDef, ...] = ()
    version: int = 1
    _by_key: dict[str, ParamDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        params = tuple(self.params) if isinstance(self.params, Iterable) else ()
        if not all(isinstance(p, ParamDef) for p in params):
            raise DefinitionError(N_("A definition set holds parameter definitions only."))
        by_key: dict[str, ParamDef] = {}
        for param in params:
            if param.key in by_key:
                raise DefinitionError(N_("Parameter %(key)s is defined twice."), key=param.key)
            by_key[param.key] = param
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise DefinitionError(N_("A version is a whole number from 1."))
        _setattr(self, "params", params)
        _setattr(self, "_by_key", by_key)

    def __iter__(self) -> Iterator[ParamDef]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, key: str) -> ParamDef | None:
        return self._by_key.get(key)

    def keys(self) -> list[str]:
        return list(self._by_key)

    def changed(self, params: Iterable[ParamDef]) -> DefinitionSet:
        """The next version with ``params``, or this set itself when nothing changed."""
        new = DefinitionSet(tuple(params), self.version + 1)
        return self if new.params == self.params else new

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "params": [p.to_dict() for p in self.params]}

    @classmethod
    def from_dict(cls, data: Any) -> DefinitionSet:
        if not isinstance(data, Mapping) or set(data) != {"version", "params"} or not isinstance(
                data["params"], list):
            raise DefinitionError(N_("A definition set must be a JSON object with a version and a list of "
                                     "params."))
        return cls(tuple(ParamDef.from_dict(p) for p in data["params"]), data["version"])
