"""The ``/api/v1`` blueprint: one generic set of routes serves every declared resource.

Each request: the bearer token is checked (401), the language is taken from Accept-Language
(English by default: the API speaks to programs), the resource is found among those active in
the token's locations (404), and the work runs inside a tenant scope made for it — the
locations where the user may read the resource for reads, the one location written to for
writes — so the tenant guard hides everything else. An object outside that scope is 404, never
403. Every error is problem+json; nothing is committed unless the answer is a success.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_babel import force_locale
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from mango_core.api import idempotency, openapi
from mango_core.api.access import USE, ApiAccess, authenticate
from mango_core.api.fields import CREATE, INT_MAX, WRITE, Field, as_datetime_bound
from mango_core.api.problems import ApiProblem, FieldError, bad_query, not_found, validation
from mango_core.api.resources import ApiCall, ApiResource, Registry, collect
from mango_core.auth.access import public
from mango_core.kernel import current_mango
from mango_core.params import ParamValidationError
from mango_core.tenancy.context import TenancyError, TenantScope, use_scope
from mango_core.tenancy.validators import N_, InvalidValue
from mango_core.web.request import client_ip, db
from mango_core.web.shell import csrf

bp = Blueprint("core_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token auth only: a browser's cookie never authenticates an API call

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]  # others: _routing_problems
# views that answer any method themselves (405 with the resource's own Allow)
SELF_DISPATCHING = {"core_api.collection", "core_api.item", "core_api.action", "core_api.download",
                    "core_api.unknown"}
MAX_BODY = 1024 * 1024
DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET = 50, 200, 1_000_000
LOCATION_FIELD = Field("location", "string", max_length=20, input=CREATE, output=False,
                       description="Code of the location to create it in; needed when the token works in "
                                   "several locations.")


@bp.record_once
def _collect(state) -> None:  # noqa: ANN001
    state.app.extensions["mango_api"] = collect(state.app.extensions["mango"])


@bp.before_app_request
def _routing_problems() -> Response | None:
    """Under /api/v1 a method or path that routing refuses still gets the API's answer (problem+json).

    A method no rule lists (``QUERY``…) goes to the view its path belongs to, which answers 405
    with the right ``Allow``; a path no rule takes (a control character…) to the 404 view. Both
    check the token first, like every API call.
    """
    exc = request.routing_exception
    if exc is None or not (request.path + "/").startswith(bp.url_prefix + "/"):
        return None
    if isinstance(exc, MethodNotAllowed):
        adapter = current_app.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match(method="GET")
        except HTTPException:
            endpoint, args = "core_api.unknown", {}
        if endpoint not in SELF_DISPATCHING:  # the document and its page: GET only
            return ApiProblem(405, N_("This address does not take %(method)s."), params={"method": request.method},
                              headers={"Allow": "GET, HEAD"}).response()
        return current_app.view_functions[endpoint](**args)
    if isinstance(exc, NotFound):
        return current_app.view_functions["core_api.unknown"]()
    return None


def registry() -> Registry:
    return current_app.extensions["mango_api"]


# --- the request's frame ------------------------------------------------------------------------


def api_view(view: Callable) -> Callable:
    """Authenticate the token, speak the request's language, turn every error into problem+json."""

    @wraps(view)
    def wrapped(**kwargs: Any) -> Response:
        mango = current_mango()
        lang = request.accept_languages.best_match(mango.settings["locales"]) or "en"
        # whatever an Opcare cookie set up for this request does not count here
        g.location_id, g.permissions = None, set()
        g.pop("active_modules", None)
        session = db()
        with force_locale(lang):
            try:
                access = authenticate(mango, session, request.headers.get("Authorization"), client_ip())
                response = view(access, **kwargs)
            except ApiProblem as problem:
                session.rollback()
                response = problem.response()
            except TenancyError as exc:  # fail closed: something reached for another location's row
                session.rollback()
                current_app.logger.warning("API %s %s refused by the tenant guard: %s", request.method,
                                           request.path, exc)
                response = not_found().response()
            except Exception:
                session.rollback()
                current_app.logger.exception("API %s %s failed", request.method, request.path)
                response = ApiProblem(500, N_("Something went wrong on our side; nothing was changed.")).response()
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Authorization, Accept-Language"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    # every route needs a token whose user holds core.api.use where it acts, plus the resource's permission
    wrapped.mango_permission = USE
    return wrapped


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _not_allowed(allowed: list[str]) -> ApiProblem:
    allow = ", ".join([*allowed, *(["HEAD"] if "GET" in allowed else []), "OPTIONS"])
    return ApiProblem(405, N_("This address does not take %(method)s."), params={"method": request.method},
                      headers={"Allow": allow})


def _options(allowed: list[str]) -> Response:
    response = Response(status=204)
    response.headers["Allow"] = ", ".join([*allowed, *(["HEAD"] if "GET" in allowed else []), "OPTIONS"])
    return response


def _resource(access: ApiAccess, name: str) -> ApiResource:
    resource = registry().get(name)
    if resource is None or not any(access.available(loc, resource) for loc in access.location_ids):
        raise not_found()
    return resource


def _body() -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiProblem(413, N_("The body is larger than %(size)d bytes."), params={"size": MAX_BODY})
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY:
        raise ApiProblem(413, N_("The body is larger than %(size)d bytes."), params={"size": MAX_BODY})
    if not raw.strip():
        return {}
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        header = "Accept-Patch" if request.method == "PATCH" else "Accept-Post"
        raise ApiProblem(415, N_("Send the body as application/json."), headers={header: "application/json"})

    def no_constants(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiProblem(400, N_("The body is not valid JSON.")) from exc


def _checked(body: Any, fields: list[Field], *, partial: bool = False) -> dict[str, Any]:
    """The body's values checked against ``fields`` (unknown fields refused); 422 with every error."""
    if not isinstance(body, dict):
        raise validation([], N_("The body must be a JSON object."))
    known = {f.name: f for f in fields}
    errors = [FieldError(key, _t(N_("Unknown field."))) for key in body if key not in known]
    values: dict[str, Any] = {}
    for f in fields:
        if f.name in body:
            values[f.name] = f.load(body[f.name], f.name, errors)
        elif f.required and not partial:
            errors.append(FieldError(f.name, _t(N_("This field is required."))))
    if errors:
        raise validation(errors)
    return values


def _t(message: str, **params: Any) -> str:
    from flask_babel import gettext

    return gettext(message, **params)


def _domain_error(exc: Exception, aliases: dict[str, str]) -> ApiProblem:
    """A refusal of a service function (bad input, a broken rule) as a 422 problem."""
    if isinstance(exc, ParamValidationError):
        return validation([FieldError(f"params.{key}", str(message)) for key, message in exc.errors.items()],
                          exc.message)
    if isinstance(exc, InvalidValue):
        problem = ApiProblem(422, exc.message, params=exc.params)
        if exc.field:
            problem.errors = [FieldError(aliases.get(exc.field, exc.field), str(exc))]
        return problem
    return ApiProblem(422, str(exc))


def _run(resource: ApiResource, work: Callable[[], Any]) -> Any:
    try:
        return work()
    except (InvalidValue, *resource.errors) as exc:
        raise _domain_error(exc, resource.aliases) from exc


def represent(access: ApiAccess, resource: ApiResource, obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": obj.id}
    if resource.tenant_owned:
        data["location"] = access.code_of(obj.location_id)
    for f in resource.output_fields:
        data[f.name] = f.dump(obj)
    return data


def _item_url(resource: ApiResource, item_id: int) -> str:
    return url_for(".item", name=resource.name, item_id=item_id)


def _read_scope(locations: list[int]) -> Any:
    return use_scope(TenantScope(frozenset(locations), None))


def _write_scope(location_id: int) -> Any:
    return use_scope(TenantScope(frozenset({location_id}), location_id))


def _load(session: Any, resource: ApiResource, item_id: int) -> Any:
    return session.scalar(resource.base_query().where(resource.model.id == item_id))


def _readable(access: ApiAccess, resource: ApiResource, code: str | None = None) -> list[int]:
    return access.where(code or resource.read_permission, resource)


def _find_for_write(access: ApiAccess, resource: ApiResource, item_id: int, code: str) -> int:
    """The location to write in for changing object ``item_id``: 404 unless readable, 403 without ``code``."""
    session = access.session
    if not 1 <= item_id <= INT_MAX:
        raise not_found()
    readable = _readable(access, resource)
    if not readable:
        raise not_found()
    owner_column = resource.model.location_id if resource.tenant_owned else resource.model.partner_id
    with _read_scope(readable):
        owner = session.scalar(select(owner_column).where(resource.model.id == item_id))
    if owner is None:
        raise not_found()
    writable = access.where(code, resource)
    if resource.tenant_owned:
        candidates = [owner] if owner in writable else []
    else:
        candidates = [loc for loc in writable if access.locations[loc].partner_id == owner]
    if not candidates:
        raise ApiProblem(403, N_("You may not change this here (%(code)s)."), params={"code": code})
    return candidates[0]


def _write_location(access: ApiAccess, resource: ApiResource, code: str | None, requested: str | None) -> int:
    """Where a new object goes: the token's one location, or the ``location`` named in the body."""
    if requested is not None:
        location_id = access.by_code(requested)
        if location_id is None:
            raise validation([FieldError("location", _t(N_("The token does not work in this location.")))])
    elif len(access.location_ids) == 1:
        location_id = access.location_ids[0]
    else:
        raise validation([FieldError("location", _t(N_(
            "Name the location (its code): the token works in several: %(codes)s."),
            codes=", ".join(access.code_of(loc) for loc in access.location_ids)))])
    if not access.available(location_id, resource):
        raise not_found()
    if code is None or not access.can(location_id, code, resource):
        raise ApiProblem(403, N_("You may not create this in location %(location)s (%(code)s)."),
                         params={"location": access.code_of(location_id), "code": code})
    return location_id


def _idempotent(access: ApiAccess, body: Any, work: Callable[[], Response]) -> Response:
    """Run a POST's work under its Idempotency-Key (in the current write scope), or replay."""
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    if key is None:
        response = work()
        access.session.commit()
        return response
    print_ = idempotency.fingerprint(request.method, request.path, body)
    row, replayed = idempotency.claim(access.session, access.token.id, key, print_)
    if replayed is not None:
        access.session.rollback()
        return replayed
    response = work()
    idempotency.complete(row, response)
    access.session.commit()
    return response


# --- the routes ---------------------------------------------------------------------------------


@bp.get("/openapi.json")
@public
def openapi_document():  # noqa: ANN201
    """The OpenAPI 3.1 document, made from the declared resources (so it always matches)."""
    response = _json(openapi.document(registry(), current_mango()))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/docs")
@public
def docs():  # noqa: ANN201
    """A browsable page of the OpenAPI document (server-rendered, no scripts)."""
    import markdown
    from markupsafe import Markup

    doc = openapi.document(registry(), current_mango())
    return render_template("api/docs.html", doc=openapi.for_page(doc), label=openapi.label,
                           intro=Markup(markdown.markdown(doc["info"]["description"])),
                           problems=openapi.problem_kinds())


@bp.route("/<name>", methods=METHODS, provide_automatic_options=False)
@api_view
def collection(access: ApiAccess, name: str) -> Response:
    resource = _resource(access, name)
    allowed = resource.collection_methods()
    if request.method == "OPTIONS":
        return _options(allowed)
    if request.method in ("GET", "HEAD"):
        return _list(access, resource)
    if request.method == "POST" and resource.create is not None:
        return _create(access, resource)
    raise _not_allowed(allowed)


@bp.route("/<name>/<int:item_id>", methods=METHODS, provide_automatic_options=False)
@api_view
def item(access: ApiAccess, name: str, item_id: int) -> Response:
    resource = _resource(access, name)
    allowed = resource.item_methods()
    if request.method == "OPTIONS":
        return _options(allowed)
    if request.method in ("GET", "HEAD"):
        return _json(_get(access, resource, item_id))
    if request.method == "PATCH" and resource.update is not None:
        return _update(access, resource, item_id)
    if request.method == "DELETE" and resource.delete is not None:
        return _delete(access, resource, item_id)
    raise _not_allowed(allowed)


@bp.route("/<name>/<int:item_id>/actions/<action_name>", methods=METHODS, provide_automatic_options=False)
@api_view
def action(access: ApiAccess, name: str, item_id: int, action_name: str) -> Response:
    resource = _resource(access, name)
    found = resource.action(action_name)
    if found is None:
        raise not_found()
    if request.method == "OPTIONS":
        return _options(["POST"])
    if request.method != "POST":
        raise _not_allowed(["POST"])
    return _act(access, resource, found, item_id)


@bp.route("/<name>/<int:item_id>/<download_name>", methods=METHODS, provide_automatic_options=False)
@api_view
def download(access: ApiAccess, name: str, item_id: int, download_name: str) -> Response:
    resource = _resource(access, name)
    found = resource.download(download_name)
    if found is None:
        raise not_found()
    if request.method == "OPTIONS":
        return _options(["GET"])
    if request.method not in ("GET", "HEAD"):
        raise _not_allowed(["GET"])
    code = found.permission or resource.read_permission
    readable = _readable(access, resource, code)
    if not readable or not 1 <= item_id <= INT_MAX:
        raise not_found()
    with _read_scope(readable):
        obj = _load(access.session, resource, item_id)
        if obj is None:
            raise not_found()
        call = ApiCall(access.session, access.user, access.token)
        try:
            content, filename = found.render(call, obj)
        except ValueError as exc:  # the data a file needs are incomplete (the location's bank account…)
            raise ApiProblem(409, N_("The file cannot be made: %(reason)s"), params={"reason": str(exc)}) from exc
    response = Response(content, mimetype=found.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/", methods=METHODS, provide_automatic_options=False)
@bp.route("/<path:rest>", methods=METHODS, provide_automatic_options=False)
@api_view
def unknown(access: ApiAccess, rest: str = "") -> Response:
    raise not_found()


# --- the operations -------------------------------------------------------------------------------


def _list(access: ApiAccess, resource: ApiResource) -> Response:
    readable = _readable(access, resource)
    if not readable:
        raise ApiProblem(403, N_("You may not read this in any location of the token (%(code)s)."),
                         params={"code": resource.read_permission})
    limit, offset, order, conditions, text = _list_arguments(resource)
    session = access.session
    with _read_scope(readable):
        if text is not None:
            conditions.append(resource.search(session, text))
        total = session.scalar(select(func.count(resource.model.id)).where(*conditions)) or 0
        stmt = resource.base_query().where(*conditions).order_by(*order).limit(limit).offset(offset)
        rows = session.scalars(stmt).unique().all()
        items = [represent(access, resource, obj) for obj in rows]
    return _json({"items": items, "total": total, "limit": limit, "offset": offset,
                  "links": _links(limit, offset, total)})


def _int_arg(name: str, default: int, low: int, high: int, errors: list[FieldError]) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        errors.append(FieldError(name, _t(N_("Expected a number from %(min)s to %(max)s."), min=low, max=high)))
        return default
    return value


def _list_arguments(resource: ApiResource) -> tuple[int, int, list[Any], list[Any], str | None]:
    errors: list[FieldError] = []
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT, errors)
    offset = _int_arg("offset", 0, 0, MAX_OFFSET, errors)
    order = _order(resource, request.args.get("sort"), errors)
    conditions: list[Any] = []
    for f in resource.filters:
        column = resource.column(f)
        for op in f.filter:
            name = f.name if op == "eq" else f"{f.name}[{op}]"
            raw = request.args.get(name)
            if raw is None:
                continue
            value = f.parse_query(raw, name, errors)
            if value is None:
                continue
            if f.type == "datetime":  # a day of a point in time: from its start to the next day's
                start, end = as_datetime_bound(value, False), as_datetime_bound(value, True)
                if op in ("eq", "gte"):
                    conditions.append(column >= start)
                if op in ("eq", "lte") and end is not None:
                    conditions.append(column < end)
            elif op == "eq":
                conditions.append(column == value)
            else:
                conditions.append(column >= value if op == "gte" else column <= value)
    text = None
    if resource.search is not None and request.args.get("q") is not None:
        text = request.args["q"]
        if "\x00" in text or len(text) > 200:
            errors.append(FieldError("q", _t(N_("At most %(max)d characters."), max=200)))
            text = None
        elif not text.strip():
            text = None
    if errors:
        raise bad_query(errors)
    return limit, offset, order, conditions, text


def _order(resource: ApiResource, raw: str | None, errors: list[FieldError]) -> list[Any]:
    sortable = {f.name: f for f in resource.sortable}
    spec = raw if raw is not None else resource.default_sort
    order: list[Any] = []
    seen: set[str] = set()
    for part in spec.split(","):
        name = part[1:] if part.startswith("-") else part
        if name == "id":
            column = resource.model.id
        elif name in sortable:
            column = resource.column(sortable[name])
        else:
            errors.append(FieldError("sort", _t(N_("Sort by one of: %(names)s (a leading - for descending)."),
                                                names=", ".join(["id", *sortable]))))
            return []
        if name in seen:  # a repeated field adds nothing
            continue
        seen.add(name)
        order.append(column.desc() if part.startswith("-") else column.asc())
    if "id" not in seen:
        order.append(resource.model.id.asc())
    return order


def _links(limit: int, offset: int, total: int) -> dict[str, str | None]:
    def at(position: int) -> str:
        args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("limit", "offset")]
        args += [("limit", str(limit)), ("offset", str(position))]
        return f"{request.script_root}{request.path}?{urlencode(args)}"

    return {
        "self": at(offset),
        "next": at(offset + limit) if offset + limit < total else None,
        "prev": at(max(0, offset - limit)) if offset > 0 else None,
    }


def _get(access: ApiAccess, resource: ApiResource, item_id: int) -> dict[str, Any]:
    readable = _readable(access, resource)
    if not readable or not 1 <= item_id <= INT_MAX:
        raise not_found()
    with _read_scope(readable):
        obj = _load(access.session, resource, item_id)
        if obj is None:
            raise not_found()
        return represent(access, resource, obj)


def _create(access: ApiAccess, resource: ApiResource) -> Response:
    body = _body()
    fields = resource.input_fields(CREATE) + [LOCATION_FIELD]
    data = _checked(body, fields)
    location_id = _write_location(access, resource, resource.write_permission, data.pop("location", None))
    session = access.session
    with _write_scope(location_id):

        def work() -> Response:
            call = ApiCall(session, access.user, access.token, location_id,
                           request.headers.get(idempotency.HEADER))
            obj = _run(resource, lambda: resource.create(call, data))
            session.flush()
            return _json(represent(access, resource, obj), 201, {"Location": _item_url(resource, obj.id)})

        return _idempotent(access, body, work)


def _update(access: ApiAccess, resource: ApiResource, item_id: int) -> Response:
    location_id = _find_for_write(access, resource, item_id, resource.write_permission)  # 404 before anything
    data = _checked(_body(), resource.input_fields(WRITE), partial=True)
    session = access.session
    with _write_scope(location_id):
        obj = _load(session, resource, item_id)
        if obj is None:
            raise not_found()
        call = ApiCall(session, access.user, access.token, location_id)
        if data:
            obj = _run(resource, lambda: resource.update(call, obj, data)) or obj
            session.flush()
        result = represent(access, resource, obj)
    session.commit()
    return _json(result)


def _delete(access: ApiAccess, resource: ApiResource, item_id: int) -> Response:
    location_id = _find_for_write(access, resource, item_id, resource.write_permission)
    session = access.session
    with _write_scope(location_id):
        obj = _load(session, resource, item_id)
        if obj is None:
            raise not_found()
        call = ApiCall(session, access.user, access.token, location_id)
        _run(resource, lambda: resource.delete(call, obj))
        session.flush()
    session.commit()
    return Response(status=204)


def _act(access: ApiAccess, resource: ApiResource, found: Any, item_id: int) -> Response:
    code = found.permission or resource.write_permission
    location_id = _find_for_write(access, resource, item_id, code)  # 404 before anything
    body = _body()
    data = _checked(body, list(found.fields))
    session = access.session
    with _write_scope(location_id):

        def work() -> Response:
            obj = _load(session, resource, item_id)  # read after the key is claimed
            if obj is None:
                raise not_found()
            call = ApiCall(session, access.user, access.token, location_id,
                           request.headers.get(idempotency.HEADER))
            result = _run(resource, lambda: found.run(call, obj, data)) or obj
            session.flush()
            session.refresh(result)
            return _json(represent(access, resource, result))

        return _idempotent(access, body, work)
