"""API resources of customers and their contacts (through :mod:`mango_core.customers.service`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from mango_core.api.fields import CREATE, WRITE, Field
from mango_core.api.resources import Action, ApiCall, ApiResource
from mango_core.customers import search
from mango_core.customers import service as customers
from mango_core.customers.models import (
    CONTACT_ROLES,
    KINDS,
    STATES,
    Customer,
    CustomerContact,
    CustomerTagLink,
)
from mango_core.tenancy.validators import N_

VIEW, MANAGE = "core.customers.view", "core.customers.manage"


def _create_customer(call: ApiCall, data: dict[str, Any]) -> Customer:
    state = data.pop("state", None) or "lead"
    return customers.create_customer(call.session, actor=call.actor, state=state, **data)


def _update_customer(call: ApiCall, customer: Customer, data: dict[str, Any]) -> Customer:
    customers.update_customer(call.session, customer, actor=call.actor, **data)
    return customer


def _change_state(call: ApiCall, customer: Customer, data: dict[str, Any]) -> None:
    customers.change_state(call.session, customer, data["state"], on=data.get("on"), actor=call.actor,
                           reason=data.get("reason"))


def _set_parent(call: ApiCall, customer: Customer, data: dict[str, Any]) -> None:
    customers.set_parent(call.session, customer, data["parent_id"], bill_to_parent=data.get("bill_to_parent", False),
                         actor=call.actor, reason=data.get("reason"))


def _add_tag(call: ApiCall, customer: Customer, data: dict[str, Any]) -> None:
    customers.add_tag(call.session, customer, data["tag"], actor=call.actor)


def _remove_tag(call: ApiCall, customer: Customer, data: dict[str, Any]) -> None:
    wanted = " ".join(data["tag"].split()).lower()
    tag = next((t for t in customer.tags if t.name.lower() == wanted), None)
    if tag is None:
        raise customers.CustomerError(N_("The customer has no such tag."), field="tag")
    customers.remove_tag(call.session, customer, tag.id, actor=call.actor)


REASON = Field("reason", nullable=True, max_length=2000, input=CREATE, description="Why (kept in the history).")

CUSTOMERS = ApiResource(
    name="customers",
    model=Customer,
    title="customers",
    description="End customers of a location: people and companies.",
    read_permission=VIEW,
    write_permission=MANAGE,
    options=(selectinload(Customer.tag_links).joinedload(CustomerTagLink.tag),),
    search=search.matching,
    default_sort="number",
    fields=(
        Field("number", "integer", description="Customer number (assigned).", filter=("eq",), sort=True),
        Field("kind", enum=KINDS, input=WRITE, filter=("eq",), description="person or company."),
        Field("display_name", description="Name as shown.", sort=True, column=Customer.sort_name),
        Field("first_name", nullable=True, max_length=100, input=WRITE),
        Field("last_name", nullable=True, max_length=100, input=WRITE, description="Required for a person."),
        Field("company_name", nullable=True, max_length=200, input=WRITE, description="Required for a company."),
        Field("variable_symbol", max_length=10, pattern=r"^[0-9]{1,10}$", input=WRITE, filter=("eq",),
              description="Variable symbol of payments (default: the number)."),
        Field("ico", nullable=True, max_length=20, input=WRITE, filter=("eq",), description="IČO (company id)."),
        Field("dic", nullable=True, max_length=20, input=WRITE, description="DIČ (VAT id)."),
        Field("birth_number", nullable=True, max_length=20, input=WRITE),
        Field("birth_date", "date", nullable=True, input=WRITE),
        Field("state", enum=STATES, input=CREATE, filter=("eq",),
              description="lead, active or former; later changed by the action change-state."),
        Field("state_changed_on", "date", nullable=True),
        Field("activated_on", "date", nullable=True),
        Field("terminated_on", "date", nullable=True),
        Field("parent_id", "integer", nullable=True, filter=("eq",),
              description="The parent customer (action set-parent)."),
        Field("bill_to_parent", "boolean"),
        Field("marketing_consent", "boolean", input=WRITE),
        Field("processing_basis", nullable=True, max_length=2000, input=WRITE),
        Field("retain_until", "date", nullable=True, input=WRITE),
        Field("note", nullable=True, max_length=5000, input=WRITE),
        Field("tags", "array", items=Field("tag"), value=lambda c: [t.name for t in c.tags],
              description="Tags (actions add-tag, remove-tag)."),
        Field("anonymised_at", "datetime", nullable=True),
        Field("created_at", "datetime", filter=("gte", "lte"), sort=True),
        Field("updated_at", "datetime", filter=("gte", "lte"), sort=True),
    ),
    create=_create_customer,
    update=_update_customer,
    aliases={"parent": "parent_id"},
    actions=(
        Action("change-state", _change_state, summary="Change the state (lead → active → former)", fields=(
            Field("state", enum=STATES, required=True, input=CREATE),
            Field("on", "date", nullable=True, input=CREATE, description="Effective date (default today)."),
            REASON,
        )),
        Action("set-parent", _set_parent, summary="Make the customer a child of another one (or top-level)", fields=(
            Field("parent_id", "integer", nullable=True, required=True, minimum=1, input=CREATE),
            Field("bill_to_parent", "boolean", input=CREATE),
            REASON,
        )),
        Action("add-tag", _add_tag, summary="Put a tag on the customer", fields=(
            Field("tag", required=True, max_length=50, input=CREATE),
        )),
        Action("remove-tag", _remove_tag, summary="Take a tag off the customer", fields=(
            Field("tag", required=True, max_length=50, input=CREATE),
        )),
    ),
)


def _customer_of(call: ApiCall, customer_id: int) -> Customer:
    customer = call.session.get(Customer, customer_id)
    if customer is None or customer.location_id != call.location_id:
        raise customers.CustomerError(N_("The customer was not found in this location."), field="customer_id")
    return customer


def _contact_values(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": data["name"], "roles": data.get("roles") or (), "emails": data.get("emails") or (),
            "phones": data.get("phones") or (), "note": data.get("note")}


def _create_contact(call: ApiCall, data: dict[str, Any]) -> CustomerContact:
    customer = _customer_of(call, data.pop("customer_id"))
    return customers.add_contact(call.session, customer, actor=call.actor, **_contact_values(data))


def _update_contact(call: ApiCall, contact: CustomerContact, data: dict[str, Any]) -> CustomerContact:
    current = {"name": contact.name, "roles": contact.roles, "emails": [c.value for c in contact.emails],
               "phones": [c.value for c in contact.phones], "note": contact.note}
    customers.update_contact(call.session, contact, actor=call.actor, **_contact_values({**current, **data}))
    return contact


def _delete_contact(call: ApiCall, contact: CustomerContact) -> None:
    customers.remove_contact(call.session, contact, actor=call.actor)


CONTACTS = ApiResource(
    name="contacts",
    model=CustomerContact,
    title="contacts",
    description="Contact persons of customers, with roles, e-mails and phones.",
    read_permission=VIEW,
    write_permission=MANAGE,
    options=(selectinload(CustomerContact.channels),),
    fields=(
        Field("customer_id", "integer", required=True, minimum=1, input=CREATE, filter=("eq",)),
        Field("name", required=True, min_length=1, max_length=200, input=WRITE, sort=True),
        Field("roles", "array", items=Field("role", enum=CONTACT_ROLES), max_items=3, input=WRITE,
              description="billing, technical, owner."),
        Field("emails", "array", items=Field("email", max_length=254), max_items=20, input=WRITE,
              value=lambda c: [ch.value for ch in c.emails], description="The first one is the primary."),
        Field("phones", "array", items=Field("phone", max_length=40), max_items=20, input=WRITE,
              value=lambda c: [ch.value for ch in c.phones], description="At least one e-mail or phone."),
        Field("note", nullable=True, max_length=2000, input=WRITE),
    ),
    create=_create_contact,
    update=_update_contact,
    delete=_delete_contact,
)

RESOURCES = [CUSTOMERS, CONTACTS]
