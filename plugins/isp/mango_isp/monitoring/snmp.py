"""Reading interface counters (IF-MIB) from many SNMP agents at once (pysnmp, asyncio).

One poll of an agent is ``sysUpTime.0`` plus a GETBULK walk of the ``ifTable``/``ifXTable``
columns it needs (all columns side by side, a few rows per request): names, operational status,
speeds and the octet counters — 64-bit ``ifHCInOctets``/``ifHCOutOctets`` where the agent has
them, else the 32-bit ``ifInOctets``/``ifOutOctets``. Raw OIDs only: no MIB is loaded.

Agents are polled concurrently (``concurrency`` at a time) in one event loop; SNMPv3 users share
an engine only when their credentials are identical (the engine keeps one key set per user
name). An agent that does not answer, refuses the credentials or returns garbage gives a
:class:`Reading` with ``error`` set; the others are not affected. Error texts never hold a
secret.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pysnmp.error import PySnmpError

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3)  # the scalar's instance is .0
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_X_TABLE = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
COLUMNS: dict[str, tuple[int, ...]] = {
    "descr": (*IF_TABLE, 2),
    "speed": (*IF_TABLE, 5),
    "oper_status": (*IF_TABLE, 8),
    "in32": (*IF_TABLE, 10),
    "out32": (*IF_TABLE, 16),
    "name": (*IF_X_TABLE, 1),
    "in64": (*IF_X_TABLE, 6),
    "out64": (*IF_X_TABLE, 10),
    "high_speed": (*IF_X_TABLE, 15),
}
MAX_REPETITIONS = 8
MAX_INTERFACES = 5000


@dataclass(frozen=True)
class Credentials:
    """How to talk to one agent (plain text: decrypted just before the poll, never stored like this)."""

    version: str = "2c"
    port: int = 161
    community: str = ""
    username: str = ""
    auth_protocol: str = ""
    auth_key: str = ""
    priv_protocol: str = ""
    priv_key: str = ""

    def __repr__(self) -> str:  # never print a secret
        return f"Credentials(version={self.version!r}, port={self.port}, username={self.username!r})"


@dataclass
class InterfaceReading:
    if_index: int
    name: str = ""
    descr: str = ""
    oper_status: int | None = None
    speed_mbps: int | None = None
    in_octets: int | None = None
    out_octets: int | None = None
    hc: bool = True


@dataclass
class Reading:
    """One agent's answer: its uptime (hundredths of a second) and interfaces, or why there is none."""

    address: str
    sys_uptime: int | None = None
    interfaces: list[InterfaceReading] = field(default_factory=list)
    error: str = ""


class SnmpError(RuntimeError):
    pass


def _auth_data(creds: Credentials) -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hl

    if creds.version == "2c":
        return hl.CommunityData(creds.community, mpModel=1)
    auth = {"": hl.usmNoAuthProtocol, "md5": hl.usmHMACMD5AuthProtocol, "sha": hl.usmHMACSHAAuthProtocol,
            "sha256": hl.usmHMAC192SHA256AuthProtocol, "sha512": hl.usmHMAC384SHA512AuthProtocol}
    priv = {"": hl.usmNoPrivProtocol, "des": hl.usmDESPrivProtocol, "aes": hl.usmAesCfb128Protocol,
            "aes256": hl.usmAesCfb256Protocol}
    return hl.UsmUserData(creds.username, authKey=creds.auth_key or None, privKey=creds.priv_key or None,
                          authProtocol=auth[creds.auth_protocol], privProtocol=priv[creds.priv_protocol])


def _engine_key(creds: Credentials) -> tuple:
    if creds.version == "2c":
        return ("2c",)
    return ("3", creds.username, creds.auth_protocol, creds.auth_key, creds.priv_protocol, creds.priv_key)


async def _target(address: str, port: int, timeout: float, retries: int) -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hl

    family = ipaddress.ip_address(address).version
    kind = hl.Udp6TransportTarget if family == 6 else hl.UdpTransportTarget
    return await kind.create((address, port), timeout=timeout, retries=retries)


def _value(value: Any) -> Any:
    """A pysnmp value as Python: int for numbers, str for strings, None for an exception value."""
    kind = type(value).__name__
    if kind in ("EndOfMibView", "NoSuchObject", "NoSuchInstance", "Null"):
        return None
    if kind in ("OctetString", "DisplayString"):
        return bytes(value).decode("utf-8", "replace").strip("\x00").strip()
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


async def _bulk(engine: Any, auth: Any, target: Any, non_repeaters: int, oids: list[tuple[int, ...]]) -> list:
    from pysnmp.hlapi.v3arch import asyncio as hl

    error, status, index, var_binds = await hl.bulk_cmd(
        engine, auth, target, hl.ContextData(), non_repeaters, MAX_REPETITIONS,
        *[hl.ObjectType(hl.ObjectIdentity(oid)) for oid in oids], lookupMib=False)
    if error:
        raise SnmpError(str(error))
    if status:
        raise SnmpError(f"agent error {status.prettyPrint()} at {index}")
    return [(tuple(oid), value) for oid, value in var_binds]


async def read_agent(engine: Any, address: str, creds: Credentials, *, timeout: float = 2.0, retries: int = 1,
                     max_interfaces: int = MAX_INTERFACES) -> Reading:
    """sysUpTime and the IF-MIB columns of one agent (the columns walked side by side with GETBULK)."""
    reading = Reading(address)
    try:
        target = await _target(address, creds.port, timeout, retries)
        auth = _auth_data(creds)
        names = list(COLUMNS)
        position = {name: COLUMNS[name] for name in names}
        rows: dict[str, dict[int, Any]] = {name: {} for name in names}
        first = True
        while names:
            binds = await _bulk(engine, auth, target, 1 if first else 0,
                                ([SYS_UPTIME] if first else []) + [position[n] for n in names])
            if first:
                if not binds or binds[0][0][:len(SYS_UPTIME)] != SYS_UPTIME:
                    raise SnmpError("the agent does not report sysUpTime")
                reading.sys_uptime = _value(binds[0][1])
                binds = binds[1:]
                first = False
            ended: set[str] = set()
            for n, (oid, value) in enumerate(binds):
                name = names[n % len(names)]
                if name in ended:
                    continue
                column = COLUMNS[name]
                if oid[:len(column)] != column or len(oid) != len(column) + 1 or oid <= position[name] \
                        or type(value).__name__ == "EndOfMibView":
                    ended.add(name)
                    continue
                rows[name][oid[-1]] = _value(value)
                position[name] = oid
                if len(rows[name]) >= max_interfaces:
                    ended.add(name)
            if not binds:
                break
            names = [name for name in names if name not in ended]
        reading.interfaces = _interfaces(rows)
    except SnmpError as exc:
        reading.error = str(exc)[:500]
    except (OSError, ValueError, PySnmpError) as exc:  # bad address, no route, a malformed answer
        reading.error = f"{type(exc).__name__}: {exc}"[:500]
    return reading


def _interfaces(rows: dict[str, dict[int, Any]]) -> list[InterfaceReading]:
    found = []
    for index in sorted(set(rows["descr"]) | set(rows["name"]) | set(rows["in32"]) | set(rows["in64"])):
        hc = rows["in64"].get(index) is not None and rows["out64"].get(index) is not None
        high = rows["high_speed"].get(index)
        low = rows["speed"].get(index)
        speed = high if isinstance(high, int) and high > 0 else (low // 1_000_000 if isinstance(low, int) and low
                                                                 else None)
        found.append(InterfaceReading(
            if_index=index, name=str(rows["name"].get(index) or "")[:64], descr=str(rows["descr"].get(index) or "")[:255],
            oper_status=rows["oper_status"].get(index) if isinstance(rows["oper_status"].get(index), int) else None,
            speed_mbps=speed, hc=hc,
            in_octets=rows["in64" if hc else "in32"].get(index), out_octets=rows["out64" if hc else "out32"].get(index)))
    return found


async def _poll_all(targets: list[tuple[Any, str, Credentials]], timeout: float, retries: int, concurrency: int,
                    max_interfaces: int) -> dict[Any, Reading]:
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

    engines: dict[tuple, Any] = {}
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(key: Any, address: str, creds: Credentials) -> tuple[Any, Reading]:
        engine_key = _engine_key(creds)
        if engine_key not in engines:
            engines[engine_key] = SnmpEngine()
        engine = engines[engine_key]
        async with gate:
            return key, await read_agent(engine, address, creds, timeout=timeout, retries=retries,
                                         max_interfaces=max_interfaces)

    try:
        results = await asyncio.gather(*(one(key, address, creds) for key, address, creds in targets))
    finally:
        for engine in engines.values():
            engine.close_dispatcher()
    return dict(results)


def poll_many(targets: Iterable[tuple[Any, str, Credentials]], *, timeout: float = 2.0, retries: int = 1,
              concurrency: int = 50, max_interfaces: int = MAX_INTERFACES, netns: str | None = None
              ) -> dict[Any, Reading]:
    """Poll every ``(key, address, credentials)`` concurrently; ``{key: Reading}`` (blocking).

    ``netns``: poll from that named network namespace (a management VRF): the event loop runs in
    a thread of its own that enters the namespace first, so every socket of the poll is opened there.
    """
    targets = list(targets)
    if not targets:
        return {}
    if netns and not os.path.exists(f"/var/run/netns/{netns}"):
        raise SnmpError(f"network namespace {netns!r} does not exist")
    def work() -> Any:
        return _poll_all(targets, timeout, retries, concurrency, max_interfaces)

    if not netns:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(work())
    # in a namespace, or called from inside an event loop (an async server): a thread of its own
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            if netns:
                from pyroute2.netns import pushns

                pushns(netns)  # this thread only; it ends with the poll
            box["result"] = asyncio.run(work())
        except Exception as exc:  # noqa: BLE001 - raised again in the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=run, name="isp-snmp-poll", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
