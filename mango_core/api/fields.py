"""Fields of API resources: one declaration gives the JSON value, the JSON Schema and the input check.

Because the OpenAPI document, the output and the validation of input all come from the same
:class:`Field`, the document cannot drift from what the API does. Money and other exact decimals
travel as strings (``"499.00"``), dates as ISO 8601 (``2026-11-27``, ``2026-11-27T10:00:00+00:00``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mango_core.api.problems import FieldError
from mango_core.tenancy.validators import N_

TYPES = ("string", "integer", "boolean", "number", "money", "decimal", "date", "datetime", "object", "array")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # the database's INTEGER: larger ids can name nothing
# Text may hold any character but NUL (PostgreSQL cannot store it).
NO_NUL = "^[^\\u0000]*$"
MONEY_IN = r"^\d{1,10}(\.\d{1,2})?$"
MONEY_OUT = r"^-?\d+\.\d{2}$"
DECIMAL_OUT = r"^-?\d+(\.\d+)?$"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTER_OPS = ("eq", "gte", "lte")

# Input modes of a field.
READ_ONLY, CREATE, WRITE = "", "create", "write"


def _message(text: str, **params: Any) -> str:
    from flask_babel import gettext

    return gettext(text, **params)


@dataclass(frozen=True)
class Field:
    """One property of a resource.

    ``input``: ``""`` read-only, ``"create"`` accepted when creating, ``"write"`` also when
    updating. ``output=False`` for input-only fields. ``filter`` lists the operators offered as
    query parameters (``eq`` → ``?name=``, ``gte`` → ``?name[gte]=``…); ``sort`` offers it in
    ``?sort=``. ``column`` is the SQL expression to filter and sort on (default: the model's
    attribute of the same name); ``value(obj)`` computes the output (default: the attribute).
    """

    name: str
    type: str = "string"
    description: str = ""
    input: str = READ_ONLY
    required: bool = False  # when creating (or always, for an action's input)
    output: bool = True
    nullable: bool = False
    enum: tuple[Any, ...] | None = None
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    items: Field | None = None  # arrays
    max_items: int | None = None
    schema: dict[str, Any] | None = None  # objects: the exact schema
    output_schema: dict[str, Any] | None = None  # when output may hold more than input accepts
    filter: tuple[str, ...] = ()
    sort: bool = False
    column: Any = None
    value: Callable[[Any], Any] | None = None
    example: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")
        if self.input not in (READ_ONLY, CREATE, WRITE):
            raise ValueError(f"field {self.name}: input must be '', 'create' or 'write'")
        if set(self.filter) - set(FILTER_OPS):
            raise ValueError(f"field {self.name}: filter operators are {FILTER_OPS}")
        if self.type == "array" and self.items is None:
            raise ValueError(f"field {self.name}: an array needs items")

    # --- JSON Schema ---------------------------------------------------------------------------

    def json_schema(self, *, for_input: bool = False) -> dict[str, Any]:
        """The schema of the value (with ``null`` when nullable)."""
        schema = dict(self.output_schema) if self.output_schema and not for_input else self._base_schema(for_input)
        if self.description:
            schema["description"] = self.description
        if self.example is not None:
            schema["examples"] = [self.example]
        schema.update(self.extra)
        if self.nullable:
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
            if isinstance(schema.get("type"), str):
                schema["type"] = [schema["type"], "null"]
            elif "type" not in schema:
                schema = {"anyOf": [schema, {"type": "null"}]}
        return schema

    def _base_schema(self, for_input: bool) -> dict[str, Any]:
        kind = self.type
        if kind == "string":
            schema: dict[str, Any] = {"type": "string"}
            if self.enum is not None:
                schema["enum"] = list(self.enum)
            else:
                if self.max_length is not None:
                    schema["maxLength"] = self.max_length
                if self.min_length is not None:
                    schema["minLength"] = self.min_length
                if for_input:
                    schema["pattern"] = self.pattern or NO_NUL
            return schema
        if kind == "integer":
            schema = {"type": "integer"}
            if self.enum is not None:
                schema["enum"] = list(self.enum)
            else:
                schema["minimum"] = INT_MIN if self.minimum is None else self.minimum
                schema["maximum"] = INT_MAX if self.maximum is None else self.maximum
            return schema
        if kind == "number":
            schema = {"type": "number"}
            if self.minimum is not None:
                schema["minimum"] = self.minimum
            if self.maximum is not None:
                schema["maximum"] = self.maximum
            return schema
        if kind == "boolean":
            return {"type": "boolean"}
        if kind == "money":
            return {"type": "string", "format": "decimal", "pattern": MONEY_IN if for_input else MONEY_OUT}
        if kind == "decimal":
            return {"type": "string", "format": "decimal", "pattern": DECIMAL_OUT}
        if kind == "date":
            return {"type": "string", "format": "date"}
        if kind == "datetime":
            return {"type": "string", "format": "date-time"}
        if kind == "object":
            return dict(self.schema or {"type": "object"})
        schema = {"type": "array", "items": self.items.json_schema(for_input=for_input)}
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema

    # --- output --------------------------------------------------------------------------------

    def dump(self, obj: Any) -> Any:
        raw = self.value(obj) if self.value is not None else getattr(obj, self.name)
        return self.to_json(raw)

    def to_json(self, raw: Any) -> Any:
        if raw is None:
            return None
        if self.type == "money":
            return format(Decimal(raw).quantize(Decimal("0.01")), "f")
        if self.type == "decimal":
            return format(Decimal(raw).normalize(), "f") if Decimal(raw) != 0 else "0"
        if self.type == "date":
            return raw.isoformat()
        if self.type == "datetime":
            return raw.isoformat()
        if self.type == "array":
            return [self.items.to_json(item) for item in raw]
        if self.type == "number":
            return float(raw)
        return raw

    # --- input ---------------------------------------------------------------------------------

    def load(self, raw: Any, path: str, errors: list[FieldError]) -> Any:
        """The checked Python value of ``raw`` (a JSON value); appends to ``errors`` when it is wrong."""
        if raw is None:
            if self.nullable:
                return None
            errors.append(FieldError(path, _message(N_("A value is required here (not null)."))))
            return None
        kind = self.type
        if kind in ("string", "money", "date"):
            if not isinstance(raw, str):
                errors.append(FieldError(path, _message(N_("Expected a string."))))
                return None
            if "\x00" in raw:
                errors.append(FieldError(path, _message(N_("The text contains a NUL character."))))
                return None
        if kind == "string":
            if self.enum is not None:
                if raw not in self.enum:
                    errors.append(FieldError(path, _message(N_("Expected one of: %(values)s."),
                                                            values=", ".join(map(str, self.enum)))))
                return raw
            if self.max_length is not None and len(raw) > self.max_length:
                errors.append(FieldError(path, _message(N_("At most %(max)d characters."), max=self.max_length)))
            elif self.min_length is not None and len(raw) < self.min_length:
                errors.append(FieldError(path, _message(N_("At least %(min)d characters."), min=self.min_length)))
            elif self.pattern is not None and not re.search(self.pattern, raw):
                errors.append(FieldError(path, _message(N_("The value has the wrong format."))))
            return raw
        if kind == "integer":
            if not isinstance(raw, int) or isinstance(raw, bool):
                errors.append(FieldError(path, _message(N_("Expected an integer."))))
                return None
            if self.enum is not None:
                if raw not in self.enum:
                    errors.append(FieldError(path, _message(N_("Expected one of: %(values)s."),
                                                            values=", ".join(map(str, self.enum)))))
                return raw
            low = INT_MIN if self.minimum is None else self.minimum
            high = INT_MAX if self.maximum is None else self.maximum
            if not low <= raw <= high:
                errors.append(FieldError(path, _message(N_("Expected a number from %(min)s to %(max)s."),
                                                        min=low, max=high)))
            return raw
        if kind == "number":
            if not isinstance(raw, int | float | Decimal) or isinstance(raw, bool) or not math.isfinite(raw):
                errors.append(FieldError(path, _message(N_("Expected a number."))))
                return None
            if (self.minimum is not None and raw < self.minimum) or (self.maximum is not None and raw > self.maximum):
                errors.append(FieldError(path, _message(N_("Expected a number from %(min)s to %(max)s."),
                                                        min=self.minimum, max=self.maximum)))
            return raw
        if kind == "boolean":
            if not isinstance(raw, bool):
                errors.append(FieldError(path, _message(N_("Expected true or false."))))
            return raw
        if kind == "money":
            if not re.fullmatch(MONEY_IN, raw):
                errors.append(FieldError(path, _message(N_("Expected an amount as a string, e.g. \"499.00\"."))))
                return None
            return Decimal(raw)
        if kind == "date":
            try:
                if not DATE_RE.fullmatch(raw):
                    raise ValueError(raw)
                return date.fromisoformat(raw)
            except ValueError:
                errors.append(FieldError(path, _message(N_("Expected a date as YYYY-MM-DD."))))
                return None
        if kind == "object":
            if not isinstance(raw, dict):
                errors.append(FieldError(path, _message(N_("Expected an object."))))
                return None
            if _has_nul(raw):
                errors.append(FieldError(path, _message(N_("The text contains a NUL character."))))
                return None
            return raw
        if kind == "array":
            if not isinstance(raw, list):
                errors.append(FieldError(path, _message(N_("Expected a list."))))
                return None
            if self.max_items is not None and len(raw) > self.max_items:
                errors.append(FieldError(path, _message(N_("At most %(max)d items."), max=self.max_items)))
                return None
            return [self.items.load(item, f"{path}.{i}", errors) for i, item in enumerate(raw)]
        errors.append(FieldError(path, _message(N_("This value cannot be set."))))  # datetime, decimal
        return None

    def parse_query(self, text: str, name: str, errors: list[FieldError]) -> Any:
        """A filter value from the query string (always text there)."""
        if "\x00" in text:
            errors.append(FieldError(name, _message(N_("The text contains a NUL character."))))
            return None
        if self.type == "integer":
            try:
                value = int(text)
            except ValueError:
                errors.append(FieldError(name, _message(N_("Expected an integer."))))
                return None
            low = INT_MIN if self.minimum is None else self.minimum
            high = INT_MAX if self.maximum is None else self.maximum
            if self.enum is not None and value not in self.enum:
                errors.append(FieldError(name, _message(N_("Expected one of: %(values)s."),
                                                        values=", ".join(map(str, self.enum)))))
                return None
            if not low <= value <= high:
                errors.append(FieldError(name, _message(N_("Expected a number from %(min)s to %(max)s."),
                                                        min=low, max=high)))
                return None
            return value
        if self.type == "boolean":
            if text not in ("true", "false"):
                errors.append(FieldError(name, _message(N_("Expected true or false."))))
                return None
            return text == "true"
        if self.type in ("date", "datetime"):
            try:
                if not DATE_RE.fullmatch(text):
                    raise ValueError(text)
                return date.fromisoformat(text)
            except ValueError:
                errors.append(FieldError(name, _message(N_("Expected a date as YYYY-MM-DD."))))
                return None
        if self.type == "money":
            if not re.fullmatch(MONEY_IN, text):
                errors.append(FieldError(name, _message(N_("Expected an amount as a string, e.g. \"499.00\"."))))
                return None
            return Decimal(text)
        before = len(errors)
        value = self.load(text, name, errors)  # a string: enum, length and pattern as in a body
        return value if len(errors) == before else None

    def query_schema(self) -> dict[str, Any]:
        """The schema of the field's filter parameter (a date filter of a date-time field is a date)."""
        if self.type == "datetime":
            return {"type": "string", "format": "date"}
        schema = self._base_schema(for_input=True)
        if self.type == "money":
            schema["pattern"] = MONEY_IN
        return schema


def _has_nul(value: Any) -> bool:
    """Is there a NUL in any text of a JSON value? (without recursion: the value may nest deep)"""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def as_datetime_bound(value: date, upper: bool) -> datetime | None:
    """A day as a UTC instant: its start, or the next day's start for an upper bound (None past 9999-12-31)."""
    from datetime import UTC, timedelta

    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not upper:
        return start
    return None if value == date.max else start + timedelta(days=1)
