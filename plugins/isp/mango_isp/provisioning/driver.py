"""What every provisioning driver offers: desired state in, actual state read back, a diff, apply.

A reconcile job calls ``read`` and ``diff``: a non-empty plan is drift, and ``apply`` repairs it. The
queue worker that reacts to one service change uses a driver's cheaper per-subscriber path (for Linux
routers :class:`~mango_isp.provisioning.linux.RouterSession`), which ends in the same ``apply``.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

CREATE = "create"
UPDATE = "update"
DELETE = "delete"


@dataclass(frozen=True)
class Failure:
    """One object the device refused: what was tried, where, for whom, and the device's own words."""

    change: str
    device: str | None = None
    subscriber: int | None = None
    errno: int | None = None
    error: str = ""

    def __str__(self) -> str:
        where = []
        if self.device:
            where.append(f"device {self.device}")
        if self.subscriber is not None:
            where.append(f"subscriber {self.subscriber}")
        suffix = f" ({', '.join(where)})" if where else ""
        code = f"[errno {self.errno}] " if self.errno else ""
        return f"{self.change}{suffix}: {code}{self.error}"


class ProvisioningError(Exception):
    """A device refused or could not be reached, or the desired state is unusable.

    Carries the device/router, the subscriber and the device's error text (netlink errno and extended
    ack message, or the nft/ip output); never credentials. ``failures`` lists every refused object of a
    batch, ``applied`` how many changes of the batch went through before or besides them.
    """

    def __init__(self, message: str, *, router: str | None = None, device: str | None = None,
                 subscriber: int | None = None, failures: Iterable[Failure] = (), applied: int = 0) -> None:
        self.router = router
        self.device = device
        self.subscriber = subscriber
        self.failures = tuple(failures)
        self.applied = applied
        parts = [message]
        if router:
            parts.append(f"router {router}")
        if device:
            parts.append(f"device {device}")
        if subscriber is not None:
            parts.append(f"subscriber {subscriber}")
        text = "; ".join(parts)
        if self.failures:
            shown = "\n  ".join(str(f) for f in self.failures[:10])
            more = f"\n  ... and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
            text = f"{text}\n  {shown}{more}"
        super().__init__(text)


class InvalidDesiredState(ProvisioningError):
    """The desired state cannot be rendered (bad id, overlapping claims, unknown interface...)."""


@dataclass(frozen=True)
class Change:
    """One object to create, update or delete. ``desired`` is None for a delete, ``actual`` for a create."""

    action: str
    key: tuple
    desired: Any = None
    actual: Any = None
    subscriber: int | None = None

    @property
    def obj(self) -> Any:
        return self.desired if self.desired is not None else self.actual

    def __str__(self) -> str:
        who = f" [subscriber {self.subscriber}]" if self.subscriber is not None else ""
        return f"{self.action} {self.obj.describe()}{who}"


@dataclass
class Plan:
    """The ordered changes that turn actual into desired. Empty means "in sync".

    ``implied`` are keys of actual objects that go away by themselves with a deleted container (a
    qdisc takes its classes and filters along), so they need no change of their own.
    """

    changes: list[Change] = field(default_factory=list)
    implied: frozenset = frozenset()

    def __len__(self) -> int:
        return len(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def counts(self) -> dict[str, int]:
        return dict(Counter(c.action for c in self.changes))

    def describe(self) -> list[str]:
        return [str(c) for c in self.changes]


@dataclass(frozen=True)
class ApplyResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    seconds: float = 0.0

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.deleted


class Driver(abc.ABC):
    """A device type's provisioning driver."""

    @abc.abstractmethod
    def read(self, desired: Any) -> Any:
        """The actual state of everything the desired state's scope covers (and of our leftovers)."""

    @abc.abstractmethod
    def diff(self, desired: Any, actual: Any) -> Plan:
        """The changes that make ``actual`` equal ``desired``; touches nothing."""

    @abc.abstractmethod
    def apply(self, plan: Plan, actual: Any) -> ApplyResult:
        """Carry out ``plan`` and bring ``actual`` up to date; raises :class:`ProvisioningError`."""

    def reconcile(self, desired: Any) -> tuple[Plan, ApplyResult]:
        """Read, diff and repair: what the scheduled reconcile job runs. Applying twice changes nothing."""
        actual = self.read(desired)
        plan = self.diff(desired, actual)
        return plan, self.apply(plan, actual)
