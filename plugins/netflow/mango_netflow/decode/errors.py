"""The one exception the decoder raises for a packet it cannot read."""

from __future__ import annotations


class DecodeError(ValueError):
    """A malformed NetFlow/IPFIX packet (or capture file): counted and logged, never fatal."""
