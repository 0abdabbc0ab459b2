"""Cards of the core on the Opcare home page (the ``dashboard`` slot, like any plugin's)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, render_template
from flask_login import current_user
from sqlalchemy import func, select

from mango_core.auth import audit
from mango_core.auth.models import AuthEvent
from mango_core.db import utcnow
from mango_core.kernel import current_mango
from mango_core.scheduler.models import JobRun
from mango_core.tenancy.models import BankAccount, Location
from mango_core.web.access import has_permission
from mango_core.web.request import db


def location_card(location: Location | None) -> str | None:
    if location is None:
        return None
    mango = current_mango()
    active = g.active_modules if g.get("location_id") == location.id else mango.plugins.active_names(location.id)
    modules = [p for p in mango.plugins.ordered() if p.licensed and p.name in active]
    account = db().scalar(select(BankAccount).order_by(BankAccount.is_default.desc(), BankAccount.id).limit(1))
    return render_template("dashboard/location.html", location=location, modules=modules, account=account)


def jobs_card(location: Location | None) -> str | None:
    if location is None or not has_permission("core.jobs.view"):
        return None
    session = db()
    since = utcnow() - timedelta(hours=24)
    failed = session.scalar(select(func.count()).select_from(JobRun).where(
        JobRun.status == "failed", JobRun.started_at >= since)) or 0
    recent = list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(5)))
    jobs = current_mango().jobs
    return render_template("dashboard/jobs.html", recent=recent, failed=failed, jobs=jobs)


def sign_in_card() -> str | None:
    if not current_user.is_authenticated:
        return None
    events = list(db().scalars(
        select(AuthEvent)
        .where(AuthEvent.user_id == current_user.id, AuthEvent.event.in_((audit.LOGIN_OK, audit.LOGIN_FAILED)))
        .order_by(AuthEvent.id.desc())
        .limit(5)
    ))
    return render_template("dashboard/sign_ins.html", events=events)


def render(slot: str, context: dict[str, Any]) -> str | None:
    if slot != "dashboard":
        return None
    location = context.get("location")
    cards = [location_card(location), jobs_card(location), sign_in_card()]
    return "\n".join(c for c in cards if c) or None
