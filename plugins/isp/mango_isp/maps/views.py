"""Opcare pages of the network drawn: the geographic map (Leaflet, vendored), its JSON data, the
topology graph (SVG laid out here) with a customer's path, and Leaflet's files.

Everything is read in the request's location (the tenant guard); ids from the URL are looked up
there (404 otherwise). The app's Content-Security-Policy forbids inline scripts and styles, so
the pages carry their data in ``data-`` attributes and fetch the rest as JSON; only the map page
widens ``img-src`` by the configured tile server, the one foreign origin it needs.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import lazy_gettext as _l

from mango_core.auth.access import permission_required, public
from mango_core.devices.models import Device
from mango_core.services.models import Service
from mango_core.web.access import has_permission
from mango_core.web.request import db
from mango_core.web.shell import SECURITY_HEADERS
from mango_isp.ipam import assignments
from mango_isp.maps import layout
from mango_isp.maps import service as maps
from mango_isp.topology import service as topology

bp = Blueprint("isp_maps", __name__, url_prefix="/isp/maps", template_folder="../templates")

VIEW = "isp.topology.view"
STATIC = Path(__file__).resolve().parent / "static"


def state_labels() -> dict[str, str]:
    return {"up": _l("up"), "degraded": _l("degraded"), "down": _l("down"), "unknown": _l("unknown")}


def _settings() -> dict:
    return current_app.extensions["mango"].plugin_settings("isp")


def tile_origin(template: str) -> str | None:
    """The origin a tile URL template loads from, as a CSP source (``{s}`` subdomains become ``*``);
    None for a template on this server or one that is not an http(s) URL."""
    if template.startswith("/") and not template.startswith("//"):
        return None
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    if not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?", host):
        return None
    return f"{parts.scheme}://{host}"


def _with_tiles(response, template: str):  # noqa: ANN001, ANN202
    origin = tile_origin(template)
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    if origin:
        policy = policy.replace("img-src 'self' data:", f"img-src 'self' data: {origin}", 1)
    response.headers["Content-Security-Policy"] = policy
    return response


@bp.get("/static/<path:filename>")
@public
def static(filename: str):  # noqa: ANN201
    """Leaflet and the pages' scripts: public code, served from the package (no CDN)."""
    return send_from_directory(STATIC, filename, max_age=3600)


@bp.get("/")
@permission_required(VIEW)
def map_page():  # noqa: ANN201
    settings = _settings()
    template = str(settings["tile_url"])
    wanted = request.args.get("device", "")
    focus = int(wanted) if wanted.isascii() and wanted.isdigit() and len(wanted) < 12 else None
    html = render_template("isp/maps/map.html", tile_url=template, attribution=str(settings["tile_attribution"]),
                           states=state_labels(), focus=focus)
    return _with_tiles(current_app.make_response(html), template)


@bp.get("/data.json")
@permission_required(VIEW)
def data():  # noqa: ANN201
    """Sites with coordinates, devices placed at their sites, and the edges between placed devices."""
    net = maps.network(db())
    labels = state_labels()
    placed = {n.id for n in net.nodes if n.lat is not None}
    return jsonify({
        "sites": [{"id": s.id, "name": s.name, "address": s.address, "lat": s.latitude, "lon": s.longitude}
                  for s in net.sites if s.latitude is not None],
        "devices": [{"id": n.id, "name": n.name, "state": n.state, "state_label": str(labels[n.state]),
                     "site_id": n.site_id, "lat": n.lat, "lon": n.lon, "slot": n.slot, "slots": n.slots,
                     "url": url_for("core_devices.card", device_id=n.id),
                     "impact_url": url_for("isp_topology.impact", device_id=n.id),
                     "graph_url": url_for("isp_maps.graph", device=n.id)}
                    for n in net.nodes if n.id in placed],
        "links": [{"from": e.upstream, "to": e.downstream, "kind": e.kind} for e in net.edges
                  if e.upstream in placed and e.downstream in placed],
        "unplaced": len(net.nodes) - len(placed),
        "truncated": net.truncated,
    })


def _path() -> tuple[list[int], Service | None, Device | None]:
    """The highlighted way up to the core: of ``?service=`` (its CPE's), or of ``?device=``."""
    session = db()
    if request.args.get("service"):
        try:
            service = assignments.get_service(session, request.args["service"])
        except assignments.NotFound:
            abort(404)
        return [d.id for d in topology.path_of_service(session, service)], service, None
    if request.args.get("device"):
        try:
            device = topology.get_device(session, request.args["device"])
        except topology.NotFound:
            abort(404)
        return topology.path_up(session, device.id), None, device
    return [], None, None


@bp.get("/graph")
@permission_required(VIEW)
def graph():  # noqa: ANN201
    path, service, device = _path()
    net = maps.network(db())
    drawn = layout.layered_layout([n.id for n in net.nodes], [(e.upstream, e.downstream) for e in net.edges],
                                  sort_key={n.id: n.name.lower() for n in net.nodes})
    on_path = set(path)
    steps = set(zip(path[1:], path[:-1], strict=False))  # (upstream, downstream) pairs along the path
    full = (0.0, 0.0, max(drawn.width, 400.0), max(drawn.height, 300.0))
    box = full
    if on_path:
        xs = [drawn.positions[i][0] for i in path if i in drawn.positions]
        ys = [drawn.positions[i][1] for i in path if i in drawn.positions]
        if xs:
            pad = layout.H_GAP
            box = (min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad, max(ys) - min(ys) + 2 * pad)
    names = {n.id: n.name for n in net.nodes}
    return render_template("isp/maps/graph.html", net=net, layout=drawn, on_path=on_path, steps=steps,
                           path_names=[names[i] for i in path if i in names], service=service, device=device,
                           view_box=" ".join(f"{v:.0f}" for v in box), full_box=" ".join(f"{v:.0f}" for v in full),
                           states=state_labels())


def render_device_links(device: Device) -> str:
    """The device card's links to the map and to the device on the graph."""
    if not has_permission(VIEW):
        return ""
    return render_template("isp/maps/device_links.html", device=device)

