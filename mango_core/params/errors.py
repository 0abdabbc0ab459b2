"""Errors of the parameter system.

They subclass the core's :class:`~mango_core.tenancy.validators.InvalidValue`, so a message is
translated when it is shown in a request (Czech UI) and English elsewhere, and code that already
turns ``InvalidValue`` into a form error handles parameters too.
"""

from __future__ import annotations

from typing import Any

from mango_core.tenancy.validators import N_, InvalidValue


class ParamError(InvalidValue):
    """Base of every error raised by :mod:`mango_core.params`."""


class DefinitionError(ParamError):
    """A parameter definition (or a set of them) is itself wrong: bad key, unknown type, min > max…"""

    default_message = N_("The parameter definition is not valid.")


class ParamValueError(ParamError):
    """One value does not fit its parameter; ``key`` names the parameter."""

    def __init__(self, key: str, message: str | None = None, **params: Any):
        super().__init__(message, field=key, **params)
        self.key = key


class ParamValidationError(ParamError):
    """Several values were checked at once; ``errors`` maps each bad key to its message."""

    default_message = N_("Some parameter values are not valid.")

    def __init__(self, errors: dict[str, str], message: str | None = None):
        super().__init__(message)
        self.errors = errors

    def __str__(self) -> str:
        details = "; ".join(f"{key}: {message}" for key, message in self.errors.items())
        return f"{super().__str__()} {details}" if details else super().__str__()
