"""The NETCONF driver (ncclient over SSH): push a rendered configuration, read one back.

:func:`apply` follows RFC 6241's safe path: lock the candidate, have the device validate the new
configuration, edit-config into the candidate, commit — a *confirmed* commit with a timeout where the
device offers ``:confirmed-commit`` (a device that loses us on the way rolls itself back), then the
confirming commit — and on any failure discard-changes (and cancel-commit), so running stays as it
was. :class:`NetconfError` names the device, the step and the device's rpc-error; it never holds a
credential (the secret is decrypted only into the connection and, for a key, a private temporary file).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from lxml import etree

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
CANDIDATE = "urn:ietf:params:netconf:capability:candidate:1.0"
VALIDATE = "urn:ietf:params:netconf:capability:validate:"
CONFIRMED = "urn:ietf:params:netconf:capability:confirmed-commit:"
CONFIRMED_11 = "urn:ietf:params:netconf:capability:confirmed-commit:1.1"
ROLLBACK_ON_ERROR = "urn:ietf:params:netconf:capability:rollback-on-error:1.0"


class NetconfError(Exception):
    """A NETCONF device refused or could not be reached: which device, which step, what it said."""

    def __init__(self, device: str, step: str, detail: str, *, rolled_back: bool = False) -> None:
        self.device, self.step, self.detail, self.rolled_back = device, step, detail, rolled_back
        suffix = "; changes discarded, running configuration unchanged" if rolled_back else ""
        super().__init__(f"NETCONF device {device}: {step} failed: {detail}{suffix}")


@dataclass(frozen=True)
class Target:
    """Where and as whom to connect. ``secret`` is plain text only in memory; ``repr`` hides it."""

    name: str
    host: str
    port: int
    username: str
    secret: str
    secret_kind: str = "password"  # or "key" (an OpenSSH/PEM private key)
    host_key: str = ""  # base64 public host key; empty = not checked
    timeout: float = 30.0
    confirm_timeout: int = 120

    def __repr__(self) -> str:
        return f"Target(name={self.name!r}, host={self.host!r}, port={self.port}, username={self.username!r})"


def _rpc_error(exc: BaseException) -> str:
    """The device's words from an ncclient error, without anything of ours."""
    from ncclient.operations.rpc import RPCError

    if isinstance(exc, RPCError):
        parts = [p for p in (exc.tag, getattr(exc, "path", None), exc.message) if p]
        return " – ".join(str(p).strip() for p in parts) or "rpc-error"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextmanager
def connect(target: Target) -> Iterator:
    """An open ncclient manager for ``target`` (a NetconfError when it cannot be had)."""
    from ncclient import manager
    from ncclient.transport.errors import AuthenticationError, SSHError

    keyfile = None
    kwargs = {"host": target.host, "port": target.port, "username": target.username,
              "timeout": target.timeout, "allow_agent": False, "look_for_keys": False,
              "hostkey_verify": False, "device_params": {"name": "default"}}
    if target.host_key:
        kwargs["hostkey_b64"] = target.host_key.split()[-1] if " " in target.host_key.strip() else target.host_key
        kwargs["hostkey_verify"] = True
    try:
        if target.secret_kind == "key":
            fd, keyfile = tempfile.mkstemp(prefix="mango-nc-")  # mode 0600, removed below
            with os.fdopen(fd, "w") as handle:
                handle.write(target.secret.strip() + "\n")
            kwargs["key_filename"] = keyfile
        else:
            kwargs["password"] = target.secret
        try:
            session = manager.connect(**kwargs)
        except AuthenticationError:
            raise NetconfError(target.name, "login", f"authentication as {target.username!r} refused") from None
        except SSHError as exc:
            raise NetconfError(target.name, "connect", _rpc_error(exc)) from None
        except OSError as exc:
            raise NetconfError(target.name, "connect",
                               f"cannot reach {target.host}:{target.port} ({exc.strerror or exc})") from None
    finally:
        if keyfile:
            os.unlink(keyfile)
    try:
        yield session
    finally:
        with suppress(Exception):
            session.close_session()


def _has(session, prefix: str) -> bool:  # noqa: ANN001
    return any(c.startswith(prefix) for c in session.server_capabilities)


def _config_element(config_xml: str) -> etree._Element:
    """The ``<config>`` element of a configuration: a whole ``<config>``, or its children (a backup)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    text = config_xml.strip()
    try:
        root = etree.fromstring(text.encode(), parser) if text.startswith("<config") else None
        if root is None or etree.QName(root).localname != "config":
            root = etree.fromstring(f'<config xmlns="{NC_NS}">{text}</config>'.encode(), parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the configuration is not well-formed XML: {exc}") from None
    return root


def apply(target: Target, config_xml: str, *, default_operation: str = "merge") -> None:
    """Push ``config_xml`` to the device through its candidate datastore, or change nothing."""
    config = _config_element(config_xml)
    with connect(target) as session:
        if not _has(session, CANDIDATE):
            raise NetconfError(target.name, "capabilities", "the device has no :candidate datastore")
        _transaction(session, target, config, default_operation)


def replace(target: Target, config_xml: str) -> None:
    """Make ``config_xml`` the device's whole configuration (restore of a backup).

    Some servers apply ``default-operation="replace"`` only to the top-level nodes sent, so a node
    the backup does not have (a subtree added since) is removed explicitly.
    """
    config = _config_element(config_xml)
    with connect(target) as session:
        if not _has(session, CANDIDATE):
            raise NetconfError(target.name, "capabilities", "the device has no :candidate datastore")
        try:
            running = session.get_config(source="running").data_ele
        except Exception as exc:  # noqa: BLE001
            raise NetconfError(target.name, "get-config", _rpc_error(exc)) from None
        wanted = {child.tag for child in config if isinstance(child.tag, str)}
        for child in running:
            if isinstance(child.tag, str) and child.tag not in wanted:
                gone = etree.SubElement(config, child.tag)
                gone.set(f"{{{NC_NS}}}operation", "remove")
        _transaction(session, target, config, "replace")


def _transaction(session, target: Target, config: etree._Element, default_operation: str) -> None:  # noqa: ANN001
    step = "lock"
    locked = pending_confirm = False
    try:
        session.lock("candidate")
        locked = True
        # a leftover edit of someone else must not ride along with ours
        step = "discard-changes"
        session.discard_changes()
        if _has(session, VALIDATE):
            # validate the configuration itself (RFC 6241 §8.6.4.1 allows a <config> source); the
            # merged candidate is checked again by the commit
            step = "validate"
            session.validate(source=config)
        step = "edit-config"
        rollback = "rollback-on-error" if _has(session, ROLLBACK_ON_ERROR) else None
        session.edit_config(target="candidate", config=config, default_operation=default_operation,
                            error_option=rollback)
        if _has(session, CONFIRMED):
            step = "commit (confirmed)"
            session.commit(confirmed=True, timeout=str(target.confirm_timeout))
            pending_confirm = True
            step = "confirming commit"
        else:
            step = "commit"
        session.commit()
        pending_confirm = False
    except NetconfError:
        raise
    except Exception as exc:  # noqa: BLE001 — an rpc-error, a timeout, a lost session: undo, say what happened
        detail = _rpc_error(exc)
        rolled_back = _undo(session, pending_confirm)
        raise NetconfError(target.name, step, detail, rolled_back=rolled_back) from None
    finally:
        if locked:
            with suppress(Exception):
                session.unlock("candidate")


def _undo(session, pending_confirm: bool) -> bool:  # noqa: ANN001
    """Discard the candidate (and cancel a confirmed commit); True when the device agreed."""
    ok = True
    if pending_confirm and _has(session, CONFIRMED_11):
        try:
            session.cancel_commit()
        except Exception:  # noqa: BLE001 — without it the confirm timeout rolls back
            ok = False
    try:
        session.discard_changes()
    except Exception:  # noqa: BLE001 — reported as "not rolled back" by the caller
        ok = False
    return ok


def get_data(target: Target, source: str = "running") -> etree._Element:
    """The device's configuration: the ``<data>`` element of a get-config."""
    with connect(target) as session:
        try:
            reply = session.get_config(source=source)
        except Exception as exc:  # noqa: BLE001
            raise NetconfError(target.name, "get-config", _rpc_error(exc)) from None
    return reply.data_ele


def get_config(target: Target, source: str = "running") -> str:
    """The device's configuration as indented XML text (the ``<data>`` element's children)."""
    return canonical(get_data(target, source))


def _shape(element: etree._Element) -> tuple:
    """An element as comparable data: name, text of a leaf, children as a sorted tuple.

    Attributes (``nc:operation``), prefixes, whitespace and the order of siblings do not count: a
    device may return list entries and leaf-lists in its own order.
    """
    children = tuple(sorted(_shape(c) for c in element if isinstance(c.tag, str)))
    text = "" if children else (element.text or "").strip()
    return (element.tag, text, children)


def drift(config_xml: str, data: etree._Element) -> int:
    """How far the device's ``data`` is from ``config_xml`` in the subtrees the configuration has:
    the number of their child elements (a VLAN, an interface, a subscriber…) present on one side
    only, counted in each direction; a subtree missing on the device counts its children plus one.
    0 = in sync. Other top-level subtrees of the device are not Mango's and are not compared.
    """
    config = _config_element(config_xml)
    running = {child.tag: child for child in data if isinstance(child.tag, str)}
    count = 0
    for wanted in config:
        if not isinstance(wanted.tag, str):
            continue
        have = running.get(wanted.tag)
        if have is None:
            count += 1 + len(wanted)
            continue
        if _shape(have) == _shape(wanted):
            continue
        mine = Counter(_shape(c) for c in wanted if isinstance(c.tag, str))
        theirs = Counter(_shape(c) for c in have if isinstance(c.tag, str))
        # a subtree differing only in its own text still counts
        count += sum(((mine - theirs) + (theirs - mine)).values()) or 1
    return count


def canonical(data: etree._Element) -> str:
    """Stable text of a ``<data>`` element: each child pretty-printed, whitespace-only text dropped."""
    parts = []
    for child in data:
        if not isinstance(child.tag, str):
            continue
        clean = etree.fromstring(etree.tostring(child), etree.XMLParser(remove_blank_text=True))
        for element in clean.iter():
            if len(element) == 0 and element.text is not None and not element.text.strip():
                element.text = None
        parts.append(etree.tostring(clean, pretty_print=True, encoding="unicode"))
    return "".join(parts)
