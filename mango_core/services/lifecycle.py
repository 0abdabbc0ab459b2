"""Lifecycle operations of a service, each with an effective date.

Every operation goes the same way: its arguments are checked against the service as it is
(:class:`ServiceError` on bad input; nothing changes), a :class:`ServiceChange` row records it,
and then

* an effective date of today or earlier applies it at once;
* a later date leaves it ``scheduled``: the job ``core:apply_service_changes`` applies it on its
  date (checking it again, since the service may have changed meanwhile) — exactly once, because
  the job claims a row by moving it out of ``scheduled`` in the applying transaction.

Applying changes the service, writes the history (author = whoever asked for the change) and
emits ``mango_service_changed``. A scheduled change can be cancelled until it is applied.

Dates: a block covers ``since`` ≤ day < ``until``; a termination's effective date is the first
day without the service (``end_date``); a transfer ends the old service and starts the new one
on the same day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mango_core.catalog import service as catalog
from mango_core.db import utcnow
from mango_core.params import ParamValidationError, validate_values
from mango_core.services import service as svc
from mango_core.services.errors import InvalidState, NotFound, ServiceError
from mango_core.services.events import ServiceChangeInfo, emit_changed
from mango_core.services.models import (
    ACTIVE,
    APPLIED,
    BLOCK_KINDS,
    BLOCKED,
    CANCELLED,
    FAILED,
    PENDING,
    SCHEDULED,
    TERMINATED,
    Service,
    ServiceBlock,
    ServiceChange,
)
from mango_core.tenancy.validators import N_, InvalidValue

LIVE = (ACTIVE, BLOCKED)
NOT_ENDED = (PENDING, ACTIVE, BLOCKED)

# history action of each operation
ACTIONS = {
    "activate": "activated", "terminate": "terminated", "block": "blocked", "unblock": "unblocked",
    "change_product": "product_changed", "transfer": "transferred", "commitment": "commitment_changed",
    "price": "price_changed", "billing_plan": "billing_plan_changed", "payment_period": "payment_period_changed",
    "params": "params_changed",
}


@dataclass(frozen=True)
class Operation:
    """``check(session, service, payload, effective)`` returns the clean payload or raises;
    ``apply(session, service, payload, effective, change)`` changes the service and returns
    ``{field: (before, after)}``."""

    kind: str
    states: tuple[str, ...]
    check: Callable[..., dict[str, Any]]
    apply: Callable[..., dict[str, tuple[Any, Any]]]


OPERATIONS: dict[str, Operation] = {}
_CHECKS: dict[str, tuple[tuple[str, ...], Callable]] = {}
_APPLIERS: dict[str, Callable] = {}


def _operation(kind: str, states: tuple[str, ...]):  # noqa: ANN202
    """Register the check of operation ``kind`` (paired with its applier at the end of the module)."""

    def register(check: Callable) -> Callable:
        _CHECKS[kind] = (states, check)
        return check

    return register


def _applier(kind: str):  # noqa: ANN202
    def register(func: Callable) -> Callable:
        _APPLIERS[kind] = func
        return func

    return register


# --- submitting, applying, cancelling ---------------------------------------------------------


def _effective(value: Any) -> date:
    if value is None or value == "":
        return svc.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ServiceError(N_("Enter a date as YYYY-MM-DD."), field="effective") from exc


def _check_state(op: Operation, service: Service) -> None:
    if service.state not in op.states:
        raise InvalidState(N_("This cannot be done with a service in state %(state)s."), state=service.state)


def _check_schedule(session: Session, service: Service, kind: str, effective: date) -> None:
    """A change may not come after a scheduled termination or transfer (the service will be gone)."""
    for change in svc.scheduled_changes(session, service):
        if change.kind in ("terminate", "transfer") and change.effective <= effective:
            raise ServiceError(N_("The service is to end on %(day)s; cancel that change first."),
                               field="effective", day=change.effective.isoformat())


def submit(session: Session, service: Service, kind: str, payload: dict[str, Any] | None = None, *,
           effective: Any = None, actor: int | None = None, reason: str | None = None) -> ServiceChange:
    """Check and record operation ``kind``; apply it now when ``effective`` is today or earlier."""
    op = OPERATIONS.get(kind)
    if op is None:
        raise ServiceError(N_("Unknown operation."))
    day = _effective(effective)
    clean_reason = catalog.text(reason, "reason", 2000)
    _check_state(op, service)
    _check_schedule(session, service, kind, day)
    if day < service.start_date and kind != "activate":
        raise ServiceError(N_("The date is before the service starts."), field="effective")
    clean = op.check(session, service, dict(payload or {}), day, reason=clean_reason)
    change = ServiceChange(service_id=service.id, kind=kind, effective=day, payload=clean, reason=clean_reason,
                           state=SCHEDULED, created_by_id=actor)
    session.add(change)
    session.flush()
    if day <= svc.today():
        change.state = APPLIED
        change.applied_at = utcnow()
        _apply(session, service, op, change)
    else:
        svc.record(session, service, "change_scheduled", {kind: (None, _describe(clean))}, actor=actor,
                   reason=clean_reason, effective=day)
    return change


def _describe(payload: dict[str, Any]) -> Any:
    return payload or "—"


def _apply(session: Session, service: Service, op: Operation, change: ServiceChange) -> dict[str, tuple[Any, Any]]:
    changes = op.apply(session, service, dict(change.payload or {}), change.effective, change)
    session.flush()
    svc.record(session, service, ACTIONS[op.kind], changes, actor=change.created_by_id, reason=change.reason,
               effective=change.effective)
    emit_changed(service, ServiceChangeInfo(op.kind, changes, change.reason, change.created_by_id, change.id),
                 change.effective)
    return changes


def cancel(session: Session, change: ServiceChange, *, actor: int | None = None, reason: str | None = None) -> None:
    """Cancel a scheduled change (only one not applied yet)."""
    if change.state != SCHEDULED:
        raise ServiceError(N_("Only a scheduled change can be cancelled."))
    claimed = session.execute(update(ServiceChange).where(ServiceChange.id == change.id,
                                                          ServiceChange.state == SCHEDULED)
                              .values(state=CANCELLED, cancelled_by_id=actor)
                              .execution_options(synchronize_session="fetch")).rowcount
    if not claimed:
        raise ServiceError(N_("Only a scheduled change can be cancelled."))
    session.refresh(change)
    service = change.service
    svc.record(session, service, "change_cancelled", {change.kind: (_describe(change.payload), None)}, actor=actor,
               reason=reason, effective=change.effective)


def get_change(session: Session, service: Service, change_id: int) -> ServiceChange:
    change = session.get(ServiceChange, change_id)
    if change is None or change.service_id != service.id:
        raise NotFound(N_("Change not found."))
    return change


@dataclass
class ApplyResult:
    applied: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.applied} applied, {self.failed} failed"


def apply_due(session: Session, on: date | None = None) -> ApplyResult:
    """Apply every scheduled change due on ``on`` (today) of the locations in the scope, oldest first.

    Each change is claimed (``scheduled`` → ``applied``) by a conditional UPDATE, so a second run,
    even a concurrent one, finds nothing to do. A change that no longer fits the service is
    marked ``failed`` with its reason (shown on the service page); the others go on.
    """
    on = on or svc.today()
    result = ApplyResult()
    due = list(session.scalars(select(ServiceChange.id).where(ServiceChange.state == SCHEDULED,
                                                              ServiceChange.effective <= on)
                               .order_by(ServiceChange.effective, ServiceChange.id)))
    for change_id in due:
        claimed = session.execute(update(ServiceChange).where(ServiceChange.id == change_id,
                                                              ServiceChange.state == SCHEDULED)
                                  .values(state=APPLIED, applied_at=utcnow())
                                  .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            continue
        change = session.get(ServiceChange, change_id)
        session.refresh(change)
        service = change.service
        session.refresh(service)
        op = OPERATIONS[change.kind]
        try:
            with session.begin_nested():
                _check_state(op, service)
                change.payload = op.check(session, service, dict(change.payload or {}), change.effective,
                                          reason=change.reason)
                _apply(session, service, op, change)
        except InvalidValue as exc:
            session.refresh(change)
            change.state = FAILED
            change.error = str(exc)[:2000]
            session.flush()
            result.failed += 1
        else:
            result.applied += 1
    return result


def _cancel_later_changes(session: Session, service: Service, after: date, why: str) -> None:
    session.execute(update(ServiceChange).where(ServiceChange.service_id == service.id,
                                                ServiceChange.state == SCHEDULED, ServiceChange.effective >= after)
                    .values(state=CANCELLED, error=why).execution_options(synchronize_session="fetch"))


def _recompute_state(service: Service) -> None:
    if service.state in LIVE:
        service.state = BLOCKED if service.open_blocks(svc.today()) else ACTIVE


# --- the operations ----------------------------------------------------------------------------


@_applier("activate")
def _apply_activate(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    before = (service.state, service.activated_on)
    service.state = ACTIVE
    service.activated_on = effective
    _recompute_state(service)
    customer = service.customer
    if customer.state == "lead":
        from mango_core.customers import service as customers

        customers.change_state(session, customer, "active", on=effective, actor=change.created_by_id,
                               reason=change.reason)
    return {"state": (before[0], service.state), "activated_on": (before[1], effective)}


@_operation("activate", (PENDING,))
def _check_activate(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    return {}


def activate(session: Session, service: Service, *, effective: Any = None, actor: int | None = None,
             reason: str | None = None) -> ServiceChange:
    """A pending service starts being provided on ``effective``."""
    return submit(session, service, "activate", {}, effective=effective, actor=actor, reason=reason)


@_operation("terminate", NOT_ENDED)
def _check_terminate(session: Session, service: Service, payload: dict, effective: date, *, reason: str | None,
                     **_: Any) -> dict:
    if not reason:
        raise ServiceError(N_("Give the reason of the termination."), field="reason")
    return {}


@_applier("terminate")
def _apply_terminate(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    before = {"state": service.state, "end_date": service.end_date}
    for block in service.blocks:
        if block.until is None or block.until > effective:
            block.until = max(effective, block.since)
            block.ended_by_id = change.created_by_id
    service.state = TERMINATED
    service.end_date = effective
    service.termination_reason = change.reason
    session.flush()
    _cancel_later_changes(session, service, effective, "service terminated")
    return {"state": (before["state"], TERMINATED), "end_date": (before["end_date"], effective)}


def terminate(session: Session, service: Service, *, effective: Any, reason: str,
              actor: int | None = None) -> ServiceChange:
    """End the service; ``effective`` is its first day without the service; a reason is required."""
    return submit(session, service, "terminate", {}, effective=effective, actor=actor, reason=reason)


def _block_kind(payload: dict) -> str:
    kind = payload.get("kind")
    if kind not in BLOCK_KINDS:
        raise ServiceError(N_("Choose a kind of block."), field="kind")
    return kind


@_operation("block", LIVE)
def _check_block(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    kind = _block_kind(payload)
    if any(b.kind == kind and (b.until is None or b.until > effective) for b in service.blocks):
        raise ServiceError(N_("The service has an open block of this kind already."), field="kind")
    return {"kind": kind}


@_applier("block")
def _apply_block(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    before = service.state
    service.blocks.append(ServiceBlock(kind=payload["kind"], since=effective, reason=change.reason,
                                       created_by_id=change.created_by_id))
    session.flush()
    _recompute_state(service)
    return {"state": (before, service.state), "block": (None, payload["kind"])}


def block(session: Session, service: Service, kind: str, *, effective: Any = None, actor: int | None = None,
          reason: str | None = None) -> ServiceChange:
    """Block the service (kinds manual, debt, prepaid, other; blocks of different kinds overlap)."""
    return submit(session, service, "block", {"kind": kind}, effective=effective, actor=actor, reason=reason)


@_operation("unblock", LIVE)
def _check_unblock(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    kind = _block_kind(payload)
    open_ = [b for b in service.blocks if b.kind == kind and b.until is None]
    scheduled = [c for c in svc.scheduled_changes(session, service)
                 if c.kind == "block" and c.payload.get("kind") == kind and c.effective < effective]
    if not open_ and not scheduled:
        raise ServiceError(N_("The service has no open block of this kind."), field="kind")
    if open_ and effective < max(b.since for b in open_):
        raise ServiceError(N_("A block cannot end before it starts."), field="effective")
    return {"kind": kind}


@_applier("unblock")
def _apply_unblock(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    before = service.state
    for b in service.blocks:
        if b.kind == payload["kind"] and b.until is None:
            b.until = effective
            b.ended_by_id = change.created_by_id
    session.flush()
    _recompute_state(service)
    return {"state": (before, service.state), "block": (payload["kind"], None)}


def unblock(session: Session, service: Service, kind: str, *, effective: Any = None, actor: int | None = None,
            reason: str | None = None) -> ServiceChange:
    """End the open block of ``kind`` (other kinds stay; the service is active again when none is open)."""
    return submit(session, service, "unblock", {"kind": kind}, effective=effective, actor=actor, reason=reason)


def _int(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ServiceError(N_("Choose a value."), field=field) from exc


def _product_params(session: Session, service: Service, product: Any, raw: dict | None) -> tuple[dict, int]:
    """Values under a new product: the stored ones that still fit, the new product's defaults, ``raw``."""
    try:
        return svc.validated_params(session, product, raw, base=service.params)
    except ParamValidationError as exc:
        raise ServiceError(N_("Some parameter values are not valid: %(errors)s"), field="params",
                           errors="; ".join(f"{k}: {m}" for k, m in exc.errors.items())) from exc


@_operation("change_product", NOT_ENDED)
def _check_change_product(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    product = svc.product_of(session, _int(payload.get("product_id"), "product_id"))
    if product.id == service.product_id:
        raise ServiceError(N_("The service has this product already."), field="product_id")
    try:
        catalog.check_sellable(product, service.location_id, effective)
    except InvalidValue as exc:
        raise ServiceError(exc.message, field="product_id", **exc.params) from exc
    raw = payload.get("params") or {}
    if not isinstance(raw, dict):
        raise ServiceError(N_("Some parameter values are not valid: %(errors)s"), field="params", errors="")
    values, _version = _product_params(session, service, product, raw)
    return {"product_id": product.id, "params": {k: values[k] for k in raw if k in values},
            "keep_price": bool(payload.get("keep_price"))}


@_applier("change_product")
def _apply_change_product(session: Session, service: Service, payload: dict, effective: date,  # noqa: ANN202
                          change: ServiceChange):
    product = svc.product_of(session, payload["product_id"])
    values, version = _product_params(session, service, product, payload.get("params"))
    changes: dict[str, tuple[Any, Any]] = {"product": (service.product.code, product.code)}
    if service.class_id != product.class_id:
        changes["class"] = (service.class_id, product.class_id)
    changes.update(_params_changes(service.params, values))
    if not payload.get("keep_price") and service.price is not None:
        changes["price"] = (service.price, None)
        service.price = None
    service.product_id, service.class_id, service.class_version, service.params = (product.id, product.class_id,
                                                                                   version, values)
    session.flush()
    session.refresh(service, ["product"])
    return changes


def change_product(session: Session, service: Service, product_id: int, *, params: dict | None = None,
                   keep_price: bool = False, effective: Any = None, actor: int | None = None,
                   reason: str | None = None) -> ServiceChange:
    """Tariff change: another product (of any class). Values that still fit are kept, the new product's
    defaults win, ``params`` overrides both; a price override is dropped unless ``keep_price``."""
    return submit(session, service, "change_product",
                  {"product_id": product_id, "params": params or {}, "keep_price": keep_price},
                  effective=effective, actor=actor, reason=reason)


@_operation("transfer", NOT_ENDED)
def _check_transfer(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    customer = svc.customer_of(session, _int(payload.get("customer_id"), "customer_id"), "customer_id")
    if customer.id == service.customer_id:
        raise ServiceError(N_("The service belongs to this customer already."), field="customer_id")
    place = svc.service_place(session, customer, payload.get("service_place_id"))
    return {"customer_id": customer.id, "service_place_id": place.id if place else None}


@_applier("transfer")
def _apply_transfer(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    """The old service ends on ``effective``; the new customer's service, a copy, starts that day."""
    target = svc.customer_of(session, payload["customer_id"], "customer_id")
    was = service.state
    new = Service(customer_id=target.id, product_id=service.product_id, class_id=service.class_id,
                  class_version=service.class_version, params=dict(service.params or {}), price=service.price,
                  billing_plan=service.billing_plan, payment_period=service.payment_period,
                  state=PENDING if was == PENDING else ACTIVE, start_date=effective,
                  activated_on=None if was == PENDING else effective, commitment_until=service.commitment_until,
                  service_place_id=payload.get("service_place_id"), transferred_from_id=service.id)
    session.add(new)
    session.flush()
    for link in list(service.device_links):
        link.service_id = new.id
    for b in service.blocks:
        if b.until is None or b.until > effective:
            b.until = max(effective, b.since)
            b.ended_by_id = change.created_by_id
    service.state, service.end_date = TERMINATED, effective
    service.termination_reason = change.reason or "transfer"
    session.flush()
    session.expire(service, ["device_links"])
    _cancel_later_changes(session, service, effective, "service transferred")
    created = {"transferred_from": (None, service.id), "customer": (None, service.customer.number),
               "product": (None, service.product.code), "state": (None, new.state)}
    svc.record(session, new, "created", created, actor=change.created_by_id, reason=change.reason,
               effective=effective)
    emit_changed(new, ServiceChangeInfo("created", created, change.reason, change.created_by_id, change.id),
                 effective)
    return {"customer": (service.customer.number, target.number), "state": (was, TERMINATED),
            "end_date": (None, effective), "transferred_to": (None, new.id)}


def transfer(session: Session, service: Service, customer_id: int, *, service_place_id: int | None = None,
             effective: Any = None, actor: int | None = None, reason: str | None = None) -> ServiceChange:
    """Hand the service over to another customer of the location (the old one ends, a copy starts)."""
    return submit(session, service, "transfer", {"customer_id": customer_id, "service_place_id": service_place_id},
                  effective=effective, actor=actor, reason=reason)


def transferred_to(session: Session, service: Service) -> Service | None:
    return session.scalar(select(Service).where(Service.transferred_from_id == service.id))


@_operation("commitment", NOT_ENDED)
def _check_commitment(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    until = catalog.day(payload.get("commitment_until"), "commitment_until") if payload.get("commitment_until") else None
    if until is not None and until < service.start_date:
        raise ServiceError(N_("The fixed term cannot end before the service starts."), field="commitment_until")
    if until == service.commitment_until:
        raise ServiceError(N_("Nothing changed."), field="commitment_until")
    return {"commitment_until": until.isoformat() if until else None}


@_applier("commitment")
def _apply_commitment(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    until = date.fromisoformat(payload["commitment_until"]) if payload["commitment_until"] else None
    before, service.commitment_until = service.commitment_until, until
    return {"commitment_until": (before, until)}


def shift_commitment(session: Session, service: Service, commitment_until: date | None, *, effective: Any = None,
                     actor: int | None = None, reason: str | None = None) -> ServiceChange:
    """Move (or end, with None) the fixed term of the service."""
    return submit(session, service, "commitment",
                  {"commitment_until": commitment_until.isoformat() if commitment_until else None},
                  effective=effective, actor=actor, reason=reason)


@_operation("price", NOT_ENDED)
def _check_price(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    amount = svc.money(payload.get("price"))
    if amount == service.price:
        raise ServiceError(N_("Nothing changed."), field="price")
    return {"price": None if amount is None else format(amount, "f")}


@_applier("price")
def _apply_price(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    amount = svc.money(payload["price"])
    before, service.price = service.price, amount
    return {"price": (before, amount)}


def change_price(session: Session, service: Service, price: Any, *, effective: Any = None, actor: int | None = None,
                 reason: str | None = None) -> ServiceChange:
    """The service's own price (without VAT); None returns to the product's price."""
    return submit(session, service, "price", {"price": None if price is None else str(price)},
                  effective=effective, actor=actor, reason=reason)


@_operation("billing_plan", NOT_ENDED)
def _check_billing_plan(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    plan = payload.get("billing_plan")
    if plan == "":
        plan = None
    if plan is not None and not isinstance(plan, str | dict):
        raise ServiceError(N_("A billing plan is a name or an object."), field="billing_plan")
    if isinstance(plan, str) and len(plan) > 200:
        raise ServiceError(N_("At most %(max)d characters."), field="billing_plan", max=200)
    if plan == service.billing_plan:
        raise ServiceError(N_("Nothing changed."), field="billing_plan")
    return {"billing_plan": plan}


@_applier("billing_plan")
def _apply_billing_plan(session: Session, service: Service, payload: dict, effective: date,  # noqa: ANN202
                        change: ServiceChange):
    before, service.billing_plan = service.billing_plan, payload["billing_plan"]
    return {"billing_plan": (before, service.billing_plan)}


def change_billing_plan(session: Session, service: Service, billing_plan: Any, *, effective: Any = None,
                        actor: int | None = None, reason: str | None = None) -> ServiceChange:
    """The service's own billing plan (the billing plugin's reference); None returns to the product's."""
    return submit(session, service, "billing_plan", {"billing_plan": billing_plan}, effective=effective,
                  actor=actor, reason=reason)


@_operation("payment_period", NOT_ENDED)
def _check_payment_period(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    months = svc.payment_period(payload.get("payment_period"))
    if months == service.payment_period:
        raise ServiceError(N_("Nothing changed."), field="payment_period")
    return {"payment_period": months}


@_applier("payment_period")
def _apply_payment_period(session: Session, service: Service, payload: dict, effective: date,  # noqa: ANN202
                          change: ServiceChange):
    before, service.payment_period = service.payment_period, payload["payment_period"]
    return {"payment_period": (before, service.payment_period)}


def change_payment_period(session: Session, service: Service, months: int | None, *, effective: Any = None,
                          actor: int | None = None, reason: str | None = None) -> ServiceChange:
    """Bill every ``months`` months (1, 2, 3, 4, 6, 12); None returns to billing's default."""
    return submit(session, service, "payment_period", {"payment_period": months}, effective=effective,
                  actor=actor, reason=reason)


def _params_changes(before: dict, after: dict) -> dict[str, tuple[Any, Any]]:
    keys = list(dict.fromkeys([*before, *after]))
    return {f"params.{k}": (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


def _new_params(session: Session, service: Service, raw: dict) -> tuple[dict, int]:
    defs = catalog.definitions(session, service.product.service_class)
    merged = {k: v for k, v in (service.params or {}).items() if k in defs}
    merged.update(raw)
    try:
        return validate_values(defs, merged, resolvers=svc.resolvers(session)), defs.version
    except ParamValidationError as exc:
        raise ServiceError(N_("Some parameter values are not valid: %(errors)s"), field="params",
                           errors="; ".join(f"{k}: {m}" for k, m in exc.errors.items())) from exc


@_operation("params", NOT_ENDED)
def _check_params(session: Session, service: Service, payload: dict, effective: date, **_: Any) -> dict:
    raw = payload.get("params")
    if not isinstance(raw, dict) or not raw:
        raise ServiceError(N_("Change at least one parameter."), field="params")
    values, version = _new_params(session, service, raw)
    if values == service.params and version == service.class_version:
        raise ServiceError(N_("Nothing changed."), field="params")
    return {"params": {k: values[k] for k in raw if k in values}}


@_applier("params")
def _apply_params(session: Session, service: Service, payload: dict, effective: date, change: ServiceChange):  # noqa: ANN202
    values, version = _new_params(session, service, payload["params"])
    changes = _params_changes(service.params or {}, values)
    if version != service.class_version:
        changes["class_version"] = (service.class_version, version)
    service.params, service.class_version = values, version
    return changes


def change_params(session: Session, service: Service, params: dict[str, Any], *, effective: Any = None,
                  actor: int | None = None, reason: str | None = None) -> ServiceChange:
    """Change some parameter values; the whole set is checked against the class's current version
    (the service moves to it), so values that no longer fit must be fixed in the same change."""
    return submit(session, service, "params", {"params": params}, effective=effective, actor=actor, reason=reason)


for _kind, (_states, _check) in _CHECKS.items():
    OPERATIONS[_kind] = Operation(_kind, _states, _check, _APPLIERS[_kind])
