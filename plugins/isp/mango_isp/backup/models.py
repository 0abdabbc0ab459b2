"""NETCONF access of devices and the stored versions of device configurations.

A device is managed over NETCONF when it has a :class:`NetconfAccess` (any device type may be); the
secret (a password or an SSH private key) is a Fernet token (:mod:`mango_isp.queue.secrets`).
:class:`DeviceConfig` rows are versions of a device's configuration, one per change of content
(``sha256``); they are never edited.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, TimestampMixin

PASSWORD, KEY = "password", "key"
SECRET_KINDS = (PASSWORD, KEY)
NETCONF, LINUX = "netconf", "linux"
SOURCES = (NETCONF, LINUX)
MANUAL, SCHEDULED, RESTORE = "manual", "scheduled", "restore"
TRIGGERS = (MANUAL, SCHEDULED, RESTORE)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class NetconfAccess(TimestampMixin, TenantMixin, Base):
    """How to reach a device over NETCONF/SSH (the host is the device's management address)."""

    __tablename__ = "isp_netconf_access"
    __table_args__ = (
        UniqueConstraint("location_id", "device_id"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        CheckConstraint(_in("secret_kind", SECRET_KINDS), name="secret_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"), index=True)
    port: Mapped[int] = mapped_column(Integer, default=830)
    username: Mapped[str] = mapped_column(String(64))
    secret_kind: Mapped[str] = mapped_column(String(10), default=PASSWORD)
    secret_token: Mapped[str] = mapped_column(Text)  # Fernet token, never the secret
    # base64 public host key the device must present (as in ssh-keyscan); empty = not checked
    host_key: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(String(40), default="generic")
    confirm_timeout: Mapped[int] = mapped_column(Integer, default=120)
    # provisioned by the queue (mango_isp.queue.netconf_devices): the rendered template is pushed on
    # every change of its services; otherwise the access serves backup and manual pushes only
    provision: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class DeviceConfig(TimestampMixin, TenantMixin, Base):
    """One version of a device's configuration; a new one only when the content changed."""

    __tablename__ = "isp_device_config"
    __table_args__ = (
        UniqueConstraint("location_id", "device_id", "version"),
        Index("ix_isp_device_config_device_sha", "location_id", "device_id", "sha256"),
        CheckConstraint(_in("source", SOURCES), name="source"),
        CheckConstraint(_in("trigger", TRIGGERS), name="trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    trigger: Mapped[str] = mapped_column(String(10), default=MANUAL)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        """Version 1 of a new device's configuration (source and trigger obey their check constraints)."""
        import hashlib

        from mango_core.devices.models import Device
        from mango_core.testing.factories import make_row
        from mango_isp.ipam.models import require_scope

        require_scope()  # no scope: the guard's error, before any row is made
        if "device_id" not in overrides:
            overrides["device_id"] = make_row(session, Device).id
        content = overrides.pop("content", "<config/>")
        return cls(**{"version": 1, "source": SOURCES[0], "trigger": MANUAL, "content": content, "size": len(content),
                      "sha256": hashlib.sha256(content.encode()).hexdigest(), **overrides})


MODELS: list[type] = [NetconfAccess, DeviceConfig]
