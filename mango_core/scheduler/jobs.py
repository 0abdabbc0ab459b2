"""Scheduled jobs contributed through ``mango_jobs``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session


@dataclass
class JobContext:
    """What a job function receives: a session scoped to one location, inside one transaction."""

    session: Session
    location_id: int
    job_id: str
    settings: dict[str, Any]


@dataclass
class Job:
    """A job runs once per location that has its module enabled.

    ``func(ctx)`` returns a short text for the job-run record (or None). ``trigger`` holds
    APScheduler trigger arguments, e.g. ``{"trigger": "cron", "hour": 2}`` or
    ``{"trigger": "interval", "minutes": 5}``. A job must be safe to run again.
    """

    id: str
    label: Any
    func: Callable[[JobContext], str | None]
    trigger: dict[str, Any] = field(default_factory=lambda: {"trigger": "interval", "hours": 1})
    plugin: str = ""
