"""Typed parameters: the definitions of service classes, device types and partner-defined customer fields.

A pure library (no database): definitions check themselves, values are parsed, validated and kept
JSON-safe, definition sets are versioned, and forms are built from definitions. References outside
the library (devices) are checked through resolver callbacks given by the caller.
"""

from mango_core.params.definitions import DefinitionSet, ParamDef
from mango_core.params.errors import DefinitionError, ParamError, ParamValidationError, ParamValueError
from mango_core.params.types import ParamType, Resolvers, get_type, param_types, register_type
from mango_core.params.values import coerce_for_new_version, invalid_values, validate_values

__all__ = [
    "DefinitionError",
    "DefinitionSet",
    "ParamDef",
    "ParamError",
    "ParamType",
    "ParamValidationError",
    "ParamValueError",
    "Resolvers",
    "coerce_for_new_version",
    "get_type",
    "invalid_values",
    "param_types",
    "register_type",
    "validate_values",
]
