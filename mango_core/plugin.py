"""Kernel-wide contributions of the core: its migration lineage and translations."""

from __future__ import annotations

from pathlib import Path

from mango_core.plugins import hookimpl

HERE = Path(__file__).resolve().parent


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def mango_settings() -> dict:
    return {}
