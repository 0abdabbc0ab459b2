"""Device types: the ones plugins define in code, and a common view of both kinds.

A plugin contributes types through ``mango_device_types``; each is a :class:`DeviceTypeDef` whose
``code`` starts with the plugin's name (``example.switch``). Code-defined types are read-only in
the UI and offered only in locations where their plugin is enabled. When a plugin changes a
type's parameters it raises the version of its :class:`DefinitionSet`, like a partner's edit does.

:class:`TypeInfo` is what the rest of the module works with: either kind, by one ``key``
(``code:<code>`` or ``ui:<id>``) that forms and list filters carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mango_core.params import DefinitionSet, ParamDef

CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,30}\.[a-z][a-z0-9_.]{0,48}")
CODE_PREFIX, UI_PREFIX = "code:", "ui:"


class DeviceTypeRegistryError(RuntimeError):
    """A plugin contributed a device type with a bad or duplicate code (a programming error)."""


@dataclass(frozen=True)
class DeviceTypeDef:
    """A device type defined by a plugin's code (returned by ``mango_device_types``).

    ``code`` is ``<plugin>.<name>``; ``label`` may be a lazy translated string; ``params`` a
    :class:`DefinitionSet` (or a sequence of :class:`ParamDef`, taken as version 1).
    """

    code: str
    label: Any
    params: DefinitionSet | Iterable[ParamDef] = ()
    description: Any = ""
    icon: str = "hdd-network"

    def __post_init__(self) -> None:
        if not isinstance(self.params, DefinitionSet):
            object.__setattr__(self, "params", DefinitionSet(tuple(self.params)))


@dataclass(frozen=True)
class TypeInfo:
    """A device type of either kind, as forms, lists and the card see it."""

    key: str
    label: str
    definitions: DefinitionSet
    description: str = ""
    type_id: int | None = None
    type_code: str | None = None
    plugin: str | None = None

    @property
    def code_defined(self) -> bool:
        return self.type_code is not None


def code_key(code: str) -> str:
    return f"{CODE_PREFIX}{code}"


def ui_key(type_id: int) -> str:
    return f"{UI_PREFIX}{type_id}"


def parse_key(key: str | None) -> tuple[str, str | int] | None:
    """``("code", "example.switch")`` or ``("ui", 12)``; None for anything else."""
    if not key:
        return None
    if key.startswith(CODE_PREFIX) and CODE_RE.fullmatch(key[len(CODE_PREFIX):]):
        return "code", key[len(CODE_PREFIX):]
    rest = key[len(UI_PREFIX):]
    if key.startswith(UI_PREFIX) and rest.isascii() and rest.isdigit() and len(rest) < 12:
        return "ui", int(rest)
    return None


def collect(plugins) -> dict[str, tuple[str, DeviceTypeDef]]:  # noqa: ANN001
    """Every code-defined type of the loaded plugins: ``{code: (plugin name, definition)}``.

    Refuses a code outside the plugin's namespace or contributed twice, so a misnamed type fails
    at the first use, not silently.
    """
    found: dict[str, tuple[str, DeviceTypeDef]] = {}
    for plugin, item in plugins.contributed_list("mango_device_types"):
        if not isinstance(item, DeviceTypeDef):
            raise DeviceTypeRegistryError(f"Plugin {plugin.name!r} returned {item!r} from mango_device_types; "
                                          "return DeviceTypeDef objects.")
        if not CODE_RE.fullmatch(item.code) or not item.code.startswith(f"{plugin.name}."):
            raise DeviceTypeRegistryError(f"Plugin {plugin.name!r}: device type code {item.code!r} must be "
                                          f"'{plugin.name}.<name>' (lower-case letters, digits, _).")
        if item.code in found:
            raise DeviceTypeRegistryError(f"Device type {item.code!r} is contributed twice.")
        found[item.code] = (plugin.name, item)
    return found


def info_of_code(plugin: str, item: DeviceTypeDef) -> TypeInfo:
    return TypeInfo(key=code_key(item.code), label=str(item.label), definitions=item.params,
                    description=str(item.description or ""), type_code=item.code, plugin=plugin)
