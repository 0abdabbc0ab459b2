"""Kinds of service classes, contributed by plugins (``mango_service_class_kinds``).

A kind tells plugins which classes are theirs to act on (the ISP plugin provisions classes of kind
``internet``, the print plugin classes of kind ``print``). The core contributes ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class ServiceClassKind:
    """``key`` is stored on the class (lower-case, at most 40 characters); ``label`` is shown."""

    key: str
    label: Any  # a lazy_gettext string
    icon: str = ""
    plugin: str = ""  # set from the contributing plugin

    def __post_init__(self) -> None:
        if not KIND_RE.fullmatch(self.key):
            raise ValueError(f"invalid service class kind {self.key!r}")


def class_kinds(location_id: int | None = None) -> dict[str, ServiceClassKind]:
    """Kinds contributed by the plugins active in ``location_id`` (all loaded plugins when None).

    A key contributed twice keeps its first contributor (in plugin order, the core first).
    """
    from dataclasses import replace

    from mango_core.kernel import current_mango

    plugins = current_mango().plugins
    only = plugins.active_names(location_id) if location_id is not None else None
    found: dict[str, ServiceClassKind] = {}
    for plugin, kind in plugins.contributed_list("mango_service_class_kinds", only=only):
        found.setdefault(kind.key, replace(kind, plugin=plugin.name))
    return found
