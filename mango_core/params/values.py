"""Checking a whole set of values against definitions, and carrying values to a new version.

Values are stored JSON-safe (see :meth:`ParamDef.to_json`): a dict by key, ``None`` where nothing
was entered. Checking collects every error before it gives up, so a form or an API answer can show
them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mango_core.params.definitions import ParamDef
from mango_core.params.errors import ParamValidationError, ParamValueError
from mango_core.params.types import JSONValue, Resolvers, is_empty
from mango_core.tenancy.validators import N_

REQUIRED = N_("This field is required.")


def _check(defs: Iterable[ParamDef], raw: Mapping[str, Any], *, partial: bool,
           resolvers: Resolvers | None) -> tuple[dict[str, JSONValue], dict[str, str]]:
    values: dict[str, JSONValue] = {}
    errors: dict[str, str] = {}
    for pdef in defs:
        if pdef.key not in raw:
            if partial:
                continue
            value = pdef.default if pdef.default is not None else pdef.kind.empty
        elif is_empty(raw[pdef.key]):
            value = pdef.kind.empty
        else:
            try:
                value = pdef.parse(raw[pdef.key], resolvers=resolvers)
            except ParamValueError as exc:
                errors[pdef.key] = str(exc)
                continue
        if value is None and pdef.required:
            errors[pdef.key] = str(ParamValueError(pdef.key, REQUIRED))
            continue
        values[pdef.key] = pdef.to_json(value)
    return values, errors


def validate_values(defs: Iterable[ParamDef], raw: Any, *, partial: bool = False,
                    resolvers: Resolvers | None = None) -> dict[str, JSONValue]:
    """Normalised JSON-safe values of ``raw`` (user text or Python values), or every error at once.

    A missing key gets its default; a key given empty is cleared (``None``; a boolean is ``False``).
    ``partial`` checks only the keys given (a Selfcare form of the customer-editable parameters, a
    change of one parameter): the result is merged over the stored values by the caller. Unknown keys
    are refused, so a typo never disappears silently. ``resolvers`` check references (devices).
    """
    if not isinstance(raw, Mapping):
        raise ParamValidationError({}, N_("Parameter values must be an object of keys and values."))
    defs = list(defs)
    values, errors = _check(defs, raw, partial=partial, resolvers=resolvers)
    known = {pdef.key for pdef in defs}
    for key in raw:
        if key not in known:
            errors[str(key)] = str(ParamValueError(str(key), N_("Unknown parameter %(name)s."), name=key))
    if errors:
        raise ParamValidationError(errors)
    return values


def coerce_for_new_version(old_values: Mapping[str, JSONValue], new_defs: Iterable[ParamDef], *,
                           resolvers: Resolvers | None = None) -> tuple[dict[str, JSONValue], dict[str, str]]:
    """Stored values carried to new definitions: ``(values still valid, {key: why it needs attention})``.

    Values of removed parameters are left out; a new parameter gets its default; a value that no
    longer fits (a choice withdrawn, a bound tightened, a type changed) is left out and reported, as is
    a new required parameter without a default. Nothing is guessed.
    """
    new_defs = list(new_defs)
    keys = {pdef.key for pdef in new_defs}
    kept = {key: value for key, value in old_values.items() if key in keys}
    return _check(new_defs, kept, partial=False, resolvers=resolvers)


def invalid_values(stored: Mapping[str, JSONValue], defs: Iterable[ParamDef], *,
                   resolvers: Resolvers | None = None) -> dict[str, str]:
    """Which stored values do not fit ``defs`` (e.g. a new class version), with the reason."""
    return coerce_for_new_version(stored, defs, resolvers=resolvers)[1]
