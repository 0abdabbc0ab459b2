"""Config backup and NETCONF provisioning of devices: the functions the UI, the CLI and the job call.

A device is backed up over NETCONF when it has a :class:`NetconfAccess`, or by a text dump of its
namespace when it is a Linux router (``isp.linux_router`` with a ``netns`` parameter). A version is
stored only when the content's SHA-256 differs from the device's newest version, so the scheduled
job can run as often as wanted. Every query is tenant-scoped by the session guard; ids are looked
up inside the current location only.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core.devices.models import Device
from mango_isp.backup import linux, netconf, render
from mango_isp.backup.models import (
    KEY,
    LINUX,
    MANUAL,
    NETCONF,
    RESTORE,
    SECRET_KINDS,
    DeviceConfig,
    NetconfAccess,
)
from mango_isp.queue import secrets

LINUX_ROUTER = "isp.linux_router"


class NotFound(LookupError):
    """No such device or version in the current location."""


class BackupError(RuntimeError):
    """A backup, restore or push could not be done; the message says why (never a credential)."""


@dataclass
class RunResult:
    """What one backup run over the location's devices did."""

    stored: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"stored {self.stored}, unchanged {self.unchanged}, failed {len(self.failed)}"
        return text + (": " + "; ".join(self.failed[:5]) if self.failed else "")


def get_device(session: Session, device_id: int) -> Device:
    # a query, not session.get: the identity map would skip the tenant filter
    device = session.scalar(select(Device).where(Device.id == device_id))
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def access_of(session: Session, device_id: int) -> NetconfAccess | None:
    return session.scalar(select(NetconfAccess).where(NetconfAccess.device_id == device_id))


def set_access(session: Session, device_id: int, *, username: str, secret: str | None, port: int = 830,
               secret_kind: str = "password", host_key: str = "", template: str = render.GENERIC,
               confirm_timeout: int = 120, provision: bool | None = None) -> NetconfAccess:
    """Create or change a device's NETCONF access; an empty ``secret`` keeps the stored one.

    ``provision`` (None = unchanged, new accesses: no) hands the device to the provisioning queue.
    A device switched on gets a task per service it serves, so it is brought to the data at once.
    """
    device = get_device(session, device_id)
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise BackupError("the user name is required (at most 64 characters)")
    if not 1 <= int(port) <= 65535:
        raise BackupError("the port must be 1–65535")
    if secret_kind not in SECRET_KINDS:
        raise BackupError(f"unknown kind of secret {secret_kind!r}")
    if template not in render.template_names():
        raise BackupError(f"no device template {template!r}")
    if not 10 <= int(confirm_timeout) <= 3600:
        raise BackupError("the confirm timeout must be 10–3600 seconds")
    if secret_kind == KEY and secret and "PRIVATE KEY" not in secret:
        raise BackupError("the key must be a private key in OpenSSH or PEM format")
    access = access_of(session, device.id)
    if access is None:
        if not secret:
            raise BackupError("the password or key is required")
        access = NetconfAccess(device_id=device.id)
        session.add(access)
    access.username, access.port, access.secret_kind = username, int(port), secret_kind
    access.host_key, access.template, access.confirm_timeout = (host_key or "").strip(), template, int(confirm_timeout)
    if secret:
        access.secret_token = secrets.encrypt(secret)
    switched_on = bool(provision) and not access.provision
    if provision is not None:
        access.provision = bool(provision)
    session.flush()
    if switched_on:
        from mango_isp.queue.netconf_devices import enqueue_device

        enqueue_device(session, device.id)
    return access


def target_of(device: Device, access: NetconfAccess) -> netconf.Target:
    if not device.management_ip:
        raise BackupError(f"device {device.name} has no management address")
    try:
        secret = secrets.decrypt(access.secret_token)
    except secrets.SecretsError as exc:
        raise BackupError(f"device {device.name}: {exc}") from None
    return netconf.Target(name=device.name, host=device.management_ip, port=access.port, username=access.username,
                          secret=secret, secret_kind=access.secret_kind, host_key=access.host_key,
                          confirm_timeout=access.confirm_timeout)


def netns_of(device: Device) -> str | None:
    """The network namespace of a Linux router (its ``netns`` parameter), else None."""
    if device.type_code != LINUX_ROUTER:
        return None
    return str((device.params or {}).get("netns") or "") or None


def source_of(session: Session, device: Device) -> str | None:
    """How the device is backed up: ``netconf``, ``linux`` or None (not at all)."""
    if access_of(session, device.id) is not None:
        return NETCONF
    return LINUX if netns_of(device) else None


def fetch(session: Session, device: Device) -> tuple[str, str]:
    """``(source, configuration text)`` read from the device now."""
    source = source_of(session, device)
    try:
        if source == NETCONF:
            return source, netconf.get_config(target_of(device, access_of(session, device.id)))
        if source == LINUX:
            return source, linux.dump(netns_of(device))
    except (netconf.NetconfError, linux.LinuxDumpError) as exc:
        raise BackupError(str(exc)) from None
    raise BackupError(f"device {device.name} has neither NETCONF access nor a Linux router namespace")


def latest(session: Session, device_id: int) -> DeviceConfig | None:
    return session.scalar(select(DeviceConfig).where(DeviceConfig.device_id == device_id)
                          .order_by(DeviceConfig.version.desc()).limit(1))


def store(session: Session, device: Device, source: str, content: str, *, trigger: str = MANUAL,
          user_id: int | None = None) -> DeviceConfig | None:
    """A new version of ``content``, or None when it equals the newest one."""
    digest = hashlib.sha256(content.encode()).hexdigest()
    newest = latest(session, device.id)
    if newest is not None and newest.sha256 == digest:
        return None
    version = DeviceConfig(device_id=device.id, version=(newest.version + 1) if newest else 1, source=source,
                           trigger=trigger, sha256=digest, content=content, size=len(content.encode()),
                           created_by_id=user_id)
    session.add(version)
    session.flush()
    return version


def backup_device(session: Session, device_id: int, *, trigger: str = MANUAL,
                  user_id: int | None = None) -> DeviceConfig | None:
    """Read the device's configuration and keep it if it changed (None: unchanged)."""
    device = get_device(session, device_id)
    source, content = fetch(session, device)
    return store(session, device, source, content, trigger=trigger, user_id=user_id)


def backup_all(session: Session, *, trigger: str = "scheduled") -> RunResult:
    """Back up every device of the location that can be; one failing device does not stop the rest."""
    result = RunResult()
    nc_ids = set(session.scalars(select(NetconfAccess.device_id)))
    routers = set(session.scalars(select(Device.id).where(Device.type_code == LINUX_ROUTER)))
    for device_id in sorted(nc_ids | routers):
        device = get_device(session, device_id)
        if source_of(session, device) is None:
            continue
        try:
            with session.begin_nested():
                stored = backup_device(session, device_id, trigger=trigger)
        except BackupError as exc:
            result.failed.append(str(exc))
            continue
        if stored is None:
            result.unchanged += 1
        else:
            result.stored += 1
    return result


def versions(session: Session, device_id: int, limit: int = 200) -> list[DeviceConfig]:
    get_device(session, device_id)
    return list(session.scalars(select(DeviceConfig).where(DeviceConfig.device_id == device_id)
                                .order_by(DeviceConfig.version.desc()).limit(limit)))


def count_versions(session: Session, device_id: int) -> int:
    return session.scalar(select(func.count()).select_from(DeviceConfig)
                          .where(DeviceConfig.device_id == device_id)) or 0


def get_version(session: Session, device_id: int, version_id: int) -> DeviceConfig:
    found = session.scalar(select(DeviceConfig).where(DeviceConfig.id == version_id))
    if found is None or found.device_id != device_id:
        raise NotFound(f"no configuration version {version_id} of device {device_id}")
    return found


def diff(old: DeviceConfig, new: DeviceConfig, context: int = 3) -> list[str]:
    """Unified diff lines from ``old`` to ``new`` (empty when equal)."""
    return list(difflib.unified_diff(old.content.splitlines(), new.content.splitlines(),
                                     fromfile=f"v{old.version}", tofile=f"v{new.version}", lineterm="", n=context))


def restorable(version: DeviceConfig) -> bool:
    return version.source == NETCONF


def restore(session: Session, device_id: int, version_id: int, *, user_id: int | None = None) -> DeviceConfig | None:
    """Make a stored NETCONF version the device's running configuration, then back it up again.

    Linux routers are not restored from a dump: Mango provisions them from their desired state.
    """
    device = get_device(session, device_id)
    version = get_version(session, device_id, version_id)
    if not restorable(version):
        raise BackupError("a Linux router's dump cannot be restored; re-provision the router from Mango instead")
    access = access_of(session, device.id)
    if access is None:
        raise BackupError(f"device {device.name} has no NETCONF access")
    target = target_of(device, access)
    try:
        netconf.replace(target, version.content)
        content = netconf.get_config(target)
    except (netconf.NetconfError, ValueError) as exc:
        raise BackupError(str(exc)) from None
    return store(session, device, NETCONF, content, trigger=RESTORE, user_id=user_id)


def render_for(session: Session, device_id: int, **extra: Any) -> str:
    """The configuration Mango wants on a NETCONF device (its template with its data)."""
    from mango_isp.topology import service as topology

    device = get_device(session, device_id)
    access = access_of(session, device.id)
    if access is None:
        raise BackupError(f"device {device.name} has no NETCONF access")
    try:  # the device's own parameters (its VLANs) may be what cannot render
        context = render.device_context(device, topology.interfaces_of(session, device.id), **extra)
        return render.render(render.template_for(device.type_code, access.template), context)
    except render.RenderError as exc:
        raise BackupError(f"device {device.name}: {exc}") from None


def push(session: Session, device_id: int, **extra: Any) -> None:
    """Render the device's configuration and commit it (all or nothing; NetconfError on failure).

    Without ``subscribers`` a device the provisioning queue serves gets the subscribers of the data
    (a manual push must not drop them); the queue's worker pushes the same configuration.
    """
    if "subscribers" not in extra:
        from mango_isp.queue.netconf_devices import subscribers_of

        served = subscribers_of(session, device_id)
        if served is not None:
            extra["subscribers"] = served
    config = render_for(session, device_id, **extra)
    device = get_device(session, device_id)
    netconf.apply(target_of(device, access_of(session, device.id)), config)
