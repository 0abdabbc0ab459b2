"""Named permissions declared by modules through ``mango_permissions``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    code: str
    label: str
    description: str = ""

    @property
    def plugin(self) -> str:
        return self.code.split(".", 1)[0]
