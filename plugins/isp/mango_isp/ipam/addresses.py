"""Addresses as the database keeps them: a family (4 or 6) and fixed-width hex of the integer.

Both SQLite and PostgreSQL compare and index text of equal length exactly like the numbers it
spells, so ``network``/``last`` columns of 32 lower-case hex digits (IPv4 zero-padded) give
indexed equality and range lookups on either database without an extension type. Prefixes are
CIDR: a containing prefix of an address has one of at most 33 (129) possible network keys,
which :func:`containing_pairs` lists for an indexed ``IN`` lookup.

Every parser here raises :class:`AddressError` (an ``InvalidValue``) with a clear message,
never anything else, whatever it is given.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from mango_core.tenancy.validators import N_
from mango_isp.ipam.errors import IpamError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

WIDTH = 32  # hex digits of 128 bits
FAMILIES = (4, 6)
BITS = {4: 32, 6: 128}
_KEY_RE = re.compile(r"[0-9a-f]{32}")
_MAX_TEXT = 100


class AddressError(IpamError):
    default_message = N_("Enter an IPv4 or IPv6 address.")


def key(value: int) -> str:
    """The stored form of an address's integer value."""
    if not 0 <= value < 1 << 128:
        raise ValueError(f"not a 128-bit value: {value!r}")
    return f"{value:032x}"


def unkey(text: str) -> int:
    if not isinstance(text, str) or not _KEY_RE.fullmatch(text):
        raise ValueError(f"not a stored address key: {text!r}")
    return int(text, 16)


def to_address(family: int, stored: str) -> IPAddress:
    """The ``ipaddress`` object of a stored key."""
    value = unkey(stored)
    return ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value)


def to_network(family: int, stored: str, prefixlen: int) -> IPNetwork:
    return ipaddress.ip_network(f"{to_address(family, stored)}/{prefixlen}")


def _clean(value: Any, field: str) -> str:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network
                  | ipaddress.IPv6Network):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise AddressError(N_("Enter an IPv4 or IPv6 address."), field=field)
    text = value.strip()
    if len(text) > _MAX_TEXT or "%" in text:  # zone ids (fe80::1%eth0) are not network data
        raise AddressError(N_("Enter an IPv4 or IPv6 address."), field=field)
    return text


def parse_address(value: Any, field: str = "address") -> IPAddress:
    """An address typed by a person (``192.0.2.1``, ``2001:db8::1``)."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    text = _clean(value, field)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise AddressError(N_("Enter an IPv4 or IPv6 address, e.g. 192.0.2.1."), field=field) from None


def parse_network(value: Any, field: str = "prefix") -> IPNetwork:
    """A CIDR prefix (``192.0.2.0/24``); a bare address is its host prefix (/32, /128).

    Host bits set (``192.0.2.5/24``) are refused rather than cleared: the person meant
    something else and should say what.
    """
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    text = _clean(value, field)
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            loose = None
        if loose is not None:
            raise AddressError(N_("%(value)s has host bits set; the prefix is %(network)s."), field=field,
                               value=text, network=str(loose)) from None
        raise AddressError(N_("Enter a prefix in CIDR notation, e.g. 192.0.2.0/24."), field=field) from None


def family_of(obj: IPAddress | IPNetwork) -> int:
    return obj.version


def bounds(network: IPNetwork) -> tuple[str, str]:
    """Stored keys of the first and the last address of a prefix."""
    return key(int(network.network_address)), key(int(network.broadcast_address))


def mask(value: int, family: int, prefixlen: int) -> int:
    """The network value of the /prefixlen containing ``value``."""
    bits = BITS[family]
    host = bits - prefixlen
    return (value >> host) << host if host < bits else 0


def containing_pairs(value: int, family: int, longest: int | None = None,
                     shortest: int = 0) -> list[tuple[str, int]]:
    """``(network key, prefixlen)`` of every CIDR prefix from /shortest to /longest holding ``value``.

    A prefix holds the address exactly when its (network, prefixlen) is one of these pairs, so an
    indexed ``network IN (...)`` lookup finds containing prefixes and assignments.
    """
    longest = BITS[family] if longest is None else longest
    return [(key(mask(value, family, length)), length) for length in range(shortest, longest + 1)]


def size(family: int, prefixlen: int) -> int:
    """Number of addresses in a prefix."""
    return 1 << (BITS[family] - prefixlen)


def compressed(family: int, stored: str, prefixlen: int) -> str:
    """The prefix as people write it; a host prefix as a bare address."""
    if prefixlen == BITS[family]:
        return str(to_address(family, stored))
    return f"{to_address(family, stored)}/{prefixlen}"
