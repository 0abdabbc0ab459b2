"""Errors of the IPAM: bad input or a refused change, with the field it belongs to (translated in a request)."""

from __future__ import annotations

from mango_core.tenancy.validators import N_, InvalidValue


class IpamError(InvalidValue):
    default_message = N_("The address data cannot be saved.")


class NotFound(IpamError):
    default_message = N_("Not found.")
