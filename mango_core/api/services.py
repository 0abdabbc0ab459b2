"""API resource of services, with their lifecycle operations as actions.

Each action is one operation of :mod:`mango_core.services.lifecycle` (checked, recorded in the
history, announced to plugins); an ``effective`` date in the future schedules it, and the
answer's ``scheduled_changes`` shows it waiting.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, object_session, selectinload

from mango_core.api.fields import CREATE, Field
from mango_core.api.resources import Action, ApiCall, ApiResource
from mango_core.services import lifecycle
from mango_core.services import service as services
from mango_core.services.models import BLOCK_KINDS, STATES, Service

VIEW, MANAGE = "core.services.view", "core.services.manage"
OBJECT = {"type": "object", "description": "Parameter values by key (as the service class defines them)."}


def _scheduled(service: Service) -> list[dict[str, Any]]:
    return [{"id": c.id, "kind": c.kind, "effective": c.effective.isoformat(), "reason": c.reason}
            for c in services.scheduled_changes(object_session(service), service)]


def _transferred_to(service: Service) -> int | None:
    if service.state != "terminated":
        return None
    found = lifecycle.transferred_to(object_session(service), service)
    return found.id if found is not None else None


def _create(call: ApiCall, data: dict[str, Any]) -> Service:
    return services.create_service(
        call.session, customer_id=data["customer_id"], product_id=data["product_id"], params=data.get("params"),
        price=data.get("price"), start_date=data.get("start_date"), commitment_until=data.get("commitment_until"),
        service_place_id=data.get("service_place_id"), payment_period_months=data.get("payment_period"),
        note=data.get("note"), activate=data.get("activate", False), actor=call.actor, reason=data.get("reason"))


def _when(data: dict[str, Any]) -> dict[str, Any]:
    return {"effective": data.get("effective"), "reason": data.get("reason")}


def _lifecycle(run: Any) -> Any:
    """An action running one lifecycle operation: ``run(session, service, data, actor)``."""

    def action(call: ApiCall, service: Service, data: dict[str, Any]) -> Service:
        run(call.session, service, data, call.actor)
        return service

    return action


def _cancel_change(session: Session, service: Service, data: dict[str, Any], actor: int) -> None:
    change = lifecycle.get_change(session, service, data["change_id"])
    lifecycle.cancel(session, change, actor=actor, reason=data.get("reason"))


EFFECTIVE = Field("effective", "date", nullable=True, input=CREATE,
                  description="When it takes effect (default today; a later date schedules it).")
REASON = Field("reason", nullable=True, max_length=2000, input=CREATE, description="Why (kept in the history).")
BLOCK_KIND = Field("kind", enum=BLOCK_KINDS, required=True, input=CREATE)

ACTIONS = (
    Action("activate", _lifecycle(lambda s, svc, d, a: lifecycle.activate(s, svc, actor=a, **_when(d))),
           fields=(EFFECTIVE, REASON), summary="Activate a pending service"),
    Action("terminate", _lifecycle(lambda s, svc, d, a: lifecycle.terminate(
        s, svc, effective=d["effective"], reason=d["reason"], actor=a)),
        fields=(Field("effective", "date", required=True, input=CREATE, description="The first day without the service."),
                Field("reason", required=True, min_length=1, max_length=2000, input=CREATE)),
        summary="End the service"),
    Action("block", _lifecycle(lambda s, svc, d, a: lifecycle.block(s, svc, d["kind"], actor=a, **_when(d))),
           fields=(BLOCK_KIND, EFFECTIVE, REASON), summary="Block the service"),
    Action("unblock", _lifecycle(lambda s, svc, d, a: lifecycle.unblock(s, svc, d["kind"], actor=a, **_when(d))),
           fields=(BLOCK_KIND, EFFECTIVE, REASON), summary="End a block of the service"),
    Action("change-product", _lifecycle(lambda s, svc, d, a: lifecycle.change_product(
        s, svc, d["product_id"], params=d.get("params"), keep_price=d.get("keep_price", False), actor=a, **_when(d))),
        fields=(Field("product_id", "integer", required=True, minimum=1, input=CREATE),
                Field("params", "object", schema=OBJECT, input=CREATE),
                Field("keep_price", "boolean", input=CREATE, description="Keep the service's own price."),
                EFFECTIVE, REASON),
        summary="Change the tariff (another product)"),
    Action("transfer", _lifecycle(lambda s, svc, d, a: lifecycle.transfer(
        s, svc, d["customer_id"], service_place_id=d.get("service_place_id"), actor=a, **_when(d))),
        fields=(Field("customer_id", "integer", required=True, minimum=1, input=CREATE),
                Field("service_place_id", "integer", nullable=True, minimum=1, input=CREATE), EFFECTIVE, REASON),
        summary="Hand the service over to another customer (this one ends, a copy starts)"),
    Action("change-price", _lifecycle(lambda s, svc, d, a: lifecycle.change_price(
        s, svc, d["price"], actor=a, **_when(d))),
        fields=(Field("price", "money", nullable=True, required=True, input=CREATE,
                      description="The service's own price without VAT; null returns to the product's."),
                EFFECTIVE, REASON),
        summary="Set the service's own price"),
    Action("change-params", _lifecycle(lambda s, svc, d, a: lifecycle.change_params(
        s, svc, d["params"], actor=a, **_when(d))),
        fields=(Field("params", "object", schema=OBJECT, required=True, input=CREATE), EFFECTIVE, REASON),
        summary="Change parameter values"),
    Action("change-payment-period", _lifecycle(lambda s, svc, d, a: lifecycle.change_payment_period(
        s, svc, d["payment_period"], actor=a, **_when(d))),
        fields=(Field("payment_period", "integer", nullable=True, required=True, enum=services.PAYMENT_PERIODS,
                      input=CREATE, description="Months between bills; null returns to billing's default."),
                EFFECTIVE, REASON),
        summary="Bill every N months"),
    Action("shift-commitment", _lifecycle(lambda s, svc, d, a: lifecycle.shift_commitment(
        s, svc, d["commitment_until"], actor=a, **_when(d))),
        fields=(Field("commitment_until", "date", nullable=True, required=True, input=CREATE), EFFECTIVE, REASON),
        summary="Move or end the fixed term"),
    Action("cancel-change", _lifecycle(_cancel_change),
           fields=(Field("change_id", "integer", required=True, minimum=1, input=CREATE), REASON),
           summary="Cancel a scheduled change"),
    Action("link-device", _lifecycle(lambda s, svc, d, a: services.link_device(
        s, svc, d["device_id"], actor=a, note=d.get("note"))),
        fields=(Field("device_id", "integer", required=True, minimum=1, input=CREATE),
                Field("note", nullable=True, max_length=200, input=CREATE)),
        summary="Link a device of the location to the service"),
    Action("unlink-device", _lifecycle(lambda s, svc, d, a: services.unlink_device(s, svc, d["device_id"], actor=a)),
           fields=(Field("device_id", "integer", required=True, minimum=1, input=CREATE),),
           summary="Unlink a device from the service"),
)

BLOCK = Field("block", "object", schema={
    "type": "object", "additionalProperties": False, "required": ["kind", "since", "until", "reason"],
    "properties": {"kind": {"type": "string"}, "since": {"type": "string", "format": "date"},
                   "until": {"type": ["string", "null"], "format": "date"}, "reason": {"type": ["string", "null"]}},
})
CHANGE = Field("change", "object", schema={
    "type": "object", "additionalProperties": False, "required": ["id", "kind", "effective", "reason"],
    "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                   "effective": {"type": "string", "format": "date"}, "reason": {"type": ["string", "null"]}},
})

SERVICES = ApiResource(
    name="services",
    model=Service,
    title="services",
    description="Customers' services (instances of products) with their lifecycle.",
    read_permission=VIEW,
    write_permission=MANAGE,
    options=(selectinload(Service.blocks), selectinload(Service.device_links)),
    fields=(
        Field("customer_id", "integer", required=True, minimum=1, input=CREATE, filter=("eq",)),
        Field("product_id", "integer", required=True, minimum=1, input=CREATE, filter=("eq",),
              description="Changed later by the action change-product."),
        Field("class_id", "integer", filter=("eq",)),
        Field("class_version", "integer"),
        Field("state", enum=STATES, filter=("eq",), description="pending, active, blocked, terminated."),
        Field("params", "object", schema=OBJECT, input=CREATE),
        Field("price", "money", nullable=True, input=CREATE, description="Own price without VAT (null: the product's)."),
        Field("effective_price", "money", description="The price billed (own or the product's), without VAT."),
        Field("payment_period", "integer", nullable=True, enum=services.PAYMENT_PERIODS, input=CREATE,
              description="Months between bills (null: billing's default)."),
        Field("start_date", "date", nullable=True, input=CREATE, filter=("gte", "lte"), sort=True),
        Field("activated_on", "date", nullable=True),
        Field("commitment_until", "date", nullable=True, input=CREATE),
        Field("end_date", "date", nullable=True, filter=("gte", "lte")),
        Field("termination_reason", nullable=True),
        Field("service_place_id", "integer", nullable=True, minimum=1, input=CREATE,
              description="A service-place address of the customer."),
        Field("transferred_from_id", "integer", nullable=True),
        Field("transferred_to_id", "integer", nullable=True, value=_transferred_to),
        Field("note", nullable=True, max_length=2000, input=CREATE),
        Field("blocks", "array", items=BLOCK, value=lambda s: [
            {"kind": b.kind, "since": b.since.isoformat(), "until": b.until.isoformat() if b.until else None,
             "reason": b.reason} for b in s.blocks]),
        Field("device_ids", "array", items=Field("device_id", "integer"),
              value=lambda s: [link.device_id for link in s.device_links]),
        Field("scheduled_changes", "array", items=CHANGE, value=_scheduled),
        Field("activate", "boolean", input=CREATE, output=False,
              description="Activate it on start_date (now, or scheduled for a later day)."),
        Field("reason", nullable=True, max_length=2000, input=CREATE, output=False),
        Field("created_at", "datetime", filter=("gte", "lte"), sort=True),
        Field("updated_at", "datetime", sort=True),
    ),
    create=_create,
    actions=ACTIONS,
    aliases={"customer": "customer_id", "product": "product_id"},
)

RESOURCES = [SERVICES]
