"""Errors of services: bad input or a broken lifecycle rule (a ``ValueError``, translated in the UI)."""

from __future__ import annotations

from mango_core.tenancy.validators import N_, InvalidValue


class ServiceError(InvalidValue):
    """Bad input or a broken rule; ``field`` names the form field when there is one."""


class NotFound(ServiceError):
    default_message = N_("Service not found.")


class InvalidState(ServiceError):
    """The operation does not fit the service's state (activating a terminated service…)."""
