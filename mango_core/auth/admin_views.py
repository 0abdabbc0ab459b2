"""Opcare pages for staff users and roles (the rules live in :mod:`mango_core.auth.admin`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mango_core.auth import admin
from mango_core.auth.access import permission_required
from mango_core.auth.admin_forms import (
    ActionForm,
    AssignRoleForm,
    PasswordForm,
    RoleForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
    options,
)
from mango_core.auth.errors import AuthInputError
from mango_core.kernel import current_mango
from mango_core.web.access import has_permission
from mango_core.web.request import db

bp = Blueprint("core_staff", __name__, url_prefix="/admin")

VIEW_USERS = "core.users.view"
MANAGE_USERS = "core.users.manage"
MANAGE_ROLES = "core.roles.manage"


def current_actor() -> admin.Actor:
    mango = current_mango()
    return admin.Actor(
        user=current_user.user,
        location_id=g.get("location_id"),
        declared=frozenset(mango.permissions),
        session_id=current_user.record.id,
    )


def not_found_as_404(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except admin.NotFound:
            abort(404)

    return wrapped


def _partner_choices(actor: admin.Actor) -> list[tuple[int, str]]:
    return [(p.id, f"{p.code} – {p.name}") for p in admin.partner_choices(db(), actor)]


# --- users -------------------------------------------------------------------------------------


@bp.get("/users")
@permission_required(VIEW_USERS)
def users():  # noqa: ANN201
    actor = current_actor()
    form = UserFilterForm(request.args)
    form.partner_id.choices = options([(0, _("All partners")), *_partner_choices(actor)])
    form.validate()
    state = {"active": True, "disabled": False}.get(form.state.data or "active")
    rows = admin.list_users(
        db(), actor, text=form.q.data, active=state, partner_id=form.partner_id.data or None,
    )
    return render_template("auth/users.html", form=form, rows=rows, actor=actor,
                           can_manage=has_permission(MANAGE_USERS))


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required(MANAGE_USERS)
def user_new():  # noqa: ANN201
    actor = current_actor()
    form = UserCreateForm()
    form.partner_id.choices = options(_partner_choices(actor))
    if form.validate_on_submit():
        s = db()
        try:
            user = admin.create_user(
                s, actor, email=form.email.data, name=form.name.data, password=form.password.data,
                locale=form.locale.data, is_operator=form.kind.data == "operator",
                partner_id=form.partner_id.data or None,
            )
        except AuthInputError as exc:
            s.rollback()
            flash(exc.translated(), "danger")
        else:
            s.commit()
            flash(_("User %(email)s created. Now assign a role in a location.", email=user.email), "success")
            return redirect(url_for(".user", user_id=user.id))
    return render_template("auth/user_new.html", form=form, actor=actor)


@bp.get("/users/<int:user_id>")
@permission_required(VIEW_USERS)
@not_found_as_404
def user(user_id: int):  # noqa: ANN201
    s = db()
    actor = current_actor()
    target = admin.get_user(s, actor, user_id)
    can_manage = has_permission(MANAGE_USERS)
    locations = admin.user_locations(s, target)
    assign_form = None
    assignable_ids: set[int] = set()
    if can_manage and not target.is_operator:
        assignable = admin.assignable_locations(s, actor, target)
        assignable_ids = {loc.id for loc in assignable}
        roles = admin.assignable_roles(s, target)
        if assignable and roles:
            assign_form = AssignRoleForm()
            assign_form.location_id.choices = options([(loc.id, f"{loc.code} – {loc.name}") for loc in assignable])
            assign_form.role_id.choices = options([(r.id, r.name) for r in roles])
    assignments = sorted(target.assignments, key=lambda a: (locations[a.location_id].code, a.role.name))
    return render_template(
        "auth/user.html", target=target, actor=actor, can_manage=can_manage, locations=locations,
        assignments=assignments, assignable_ids=assignable_ids, assign_form=assign_form,
        action_form=ActionForm(), partner=admin.partner_of(s, target),
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE_USERS)
@not_found_as_404
def user_edit(user_id: int):  # noqa: ANN201
    s = db()
    actor = current_actor()
    target = admin.get_user(s, actor, user_id)
    form = UserEditForm(obj=target if request.method == "GET" else None)
    if request.method == "GET":
        form.locale.data = target.locale or ""
    if form.validate_on_submit():
        try:
            admin.update_user(s, actor, target, name=form.name.data, locale=form.locale.data)
        except AuthInputError as exc:
            s.rollback()
            flash(exc.translated(), "danger")
        else:
            s.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for(".user", user_id=target.id))
    return render_template("auth/user_edit.html", form=form, target=target)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@permission_required(MANAGE_USERS)
@not_found_as_404
def user_password(user_id: int):  # noqa: ANN201
    s = db()
    actor = current_actor()
    target = admin.get_user(s, actor, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            ended = admin.set_user_password(s, actor, target, form.password.data)
        except AuthInputError as exc:
            s.rollback()
            flash(exc.translated(), "danger")
        else:
            s.commit()
            flash(_("Password changed. Sessions ended: %(count)d.", count=ended), "success")
            return redirect(url_for(".user", user_id=target.id))
    return render_template("auth/user_password.html", form=form, target=target)


def _user_action(user_id: int, action: Callable[..., Any], message: Callable[[Any], str]):  # noqa: ANN202
    """Run a POST action on a visible user, then go back to the user's page."""
    s = db()
    actor = current_actor()
    target = admin.get_user(s, actor, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = action(s, actor, target)
    except AuthInputError as exc:
        s.rollback()
        flash(exc.translated(), "danger")
    else:
        s.commit()
        flash(message(result), "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/disable")
@permission_required(MANAGE_USERS)
@not_found_as_404
def user_disable(user_id: int):  # noqa: ANN201
    return _user_action(user_id, admin.disable_user,
                        lambda ended: _("User disabled. Sessions ended: %(count)d.", count=ended))


@bp.post("/users/<int:user_id>/enable")
@permission_required(MANAGE_USERS)
@not_found_as_404
def user_enable(user_id: int):  # noqa: ANN201
    return _user_action(user_id, admin.enable_user, lambda _result: _("User enabled."))


@bp.post("/users/<int:user_id>/roles")
@permission_required(MANAGE_USERS)
@not_found_as_404
def user_assign(user_id: int):  # noqa: ANN201
    form = AssignRoleForm()

    def assign(s, actor, target):  # noqa: ANN001, ANN202
        if not form.validate():
            raise AuthInputError("Choose a location and a role.")
        return admin.assign_role(s, actor, target, role_id=form.role_id.data, location_id=form.location_id.data)

    return _user_action(user_id, assign, lambda _result: _("Role assigned."))


@bp.post("/users/<int:user_id>/roles/<int:assignment_id>/remove")
@permission_required(MANAGE_USERS)
@not_found_as_404
def user_unassign(user_id: int, assignment_id: int):  # noqa: ANN201
    return _user_action(
        user_id, lambda s, actor, target: admin.remove_assignment(s, actor, target, assignment_id),
        lambda _result: _("Role removed."),
    )


# --- roles -------------------------------------------------------------------------------------


def _permission_groups() -> Any:
    mango = current_mango()
    titles = {p.name: p.meta.title for p in mango.plugins.ordered()}
    return admin.permission_groups(mango.permissions, titles)


@bp.get("/roles")
@permission_required(VIEW_USERS)
def roles():  # noqa: ANN201
    s = db()
    actor = current_actor()
    partners = {p.id: p for p in admin.partner_choices(s, actor)}
    return render_template(
        "auth/roles.html", roles=admin.visible_roles(s, actor), partners=partners, actor=actor,
        can_manage=has_permission(MANAGE_ROLES), can_edit=lambda r: admin.can_edit_role(actor, r),
    )


@bp.get("/roles/<int:role_id>")
@permission_required(VIEW_USERS)
@not_found_as_404
def role(role_id: int):  # noqa: ANN201
    s = db()
    actor = current_actor()
    found = admin.get_role(s, actor, role_id)
    return render_template(
        "auth/role.html", role=found, groups=_permission_groups(), partner=admin.partner_by_id(s, found.partner_id),
        can_edit=has_permission(MANAGE_ROLES) and admin.can_edit_role(actor, found),
        can_copy=has_permission(MANAGE_ROLES),
    )


def _role_form_page(actor: admin.Actor, form: RoleForm, existing: Any, template: Any = None):  # noqa: ANN202
    s = db()
    grantable = admin.grantable_permissions(s, actor)
    groups = _permission_groups()
    form.permissions.choices = options([(p.code, p.label) for _title, perms in groups.values() for p in perms])
    if actor.is_operator:
        form.partner_id.choices = options([(0, _("Operator template (visible to all partners)")),
                                           *_partner_choices(actor)])
    if request.method == "GET":
        if existing is not None:
            form.permissions.data = sorted(existing.permission_codes)
        elif template is not None:
            form.permissions.data = sorted(template.permission_codes & grantable)
    if form.validate_on_submit():
        try:
            saved = admin.save_role(
                s, actor, existing, name=form.name.data, description=form.description.data or "",
                permissions=set(form.permissions.data or []), partner_id=form.partner_id.data or None,
            )
        except AuthInputError as exc:
            s.rollback()
            flash(exc.translated(), "danger")
        else:
            s.commit()
            flash(_("Role %(name)s saved.", name=saved.name), "success")
            return redirect(url_for(".role", role_id=saved.id))
    return render_template(
        "auth/role_form.html", form=form, role=existing, template=template, groups=groups,
        grantable=grantable, actor=actor, checked=set(form.permissions.data or []),
    )


@bp.route("/roles/new", methods=["GET", "POST"])
@permission_required(MANAGE_ROLES)
@not_found_as_404
def role_new():  # noqa: ANN201
    actor = current_actor()
    template = None
    template_id = request.args.get("template", type=int)
    form = RoleForm()
    if template_id:
        template = admin.get_role(db(), actor, template_id)
        if request.method == "GET":
            form.name.data = _("%(name)s (copy)", name=template.name)
            form.description.data = template.description
    return _role_form_page(actor, form, None, template)


@bp.route("/roles/<int:role_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE_ROLES)
@not_found_as_404
def role_edit(role_id: int):  # noqa: ANN201
    actor = current_actor()
    existing = admin.get_role(db(), actor, role_id)
    if not admin.can_edit_role(actor, existing):
        abort(404)
    form = RoleForm(obj=existing if request.method == "GET" else None)
    return _role_form_page(actor, form, existing)
