"""Opcare: the batch export of a month's documents (a zip of PDFs and ISDOC files) for download."""

from __future__ import annotations

import tempfile

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l

from mango_billing.delivery import DeliveryError, export_zip, parse_formats
from mango_core.auth.access import permission_required
from mango_core.web.layout import current_location
from mango_core.web.request import db

bp = Blueprint("billing_delivery", __name__, url_prefix="/billing/delivery", template_folder="templates")


@bp.get("/")
@permission_required("billing.invoices.view")
def index():  # noqa: ANN201
    return render_template("billing/delivery_export.html", period=request.args.get("period", ""))


@bp.get("/export.zip")
@permission_required("billing.invoices.view")
def export():  # noqa: ANN201
    """The zip of the month's documents (a GET: it changes nothing). Large months: `mango billing export`."""
    period = (request.args.get("period") or "").strip()
    formats = request.args.getlist("format") or ["pdf", "isdoc"]
    try:
        chosen = parse_formats(",".join(formats))
        spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - send_file closes it
        result = export_zip(db(), period, spool, formats=chosen)
    except DeliveryError as exc:
        flash(_l("The export failed: %(error)s", error=str(exc)), "danger")
        return redirect(url_for("billing_delivery.index", period=period))
    if not result.documents:
        flash(_l("No documents were issued in %(period)s.", period=period), "warning")
        return redirect(url_for("billing_delivery.index", period=period))
    spool.seek(0)
    location = current_location()
    name = f"doklady-{location.code if location else 'mango'}-{period}.zip"
    return send_file(spool, mimetype="application/zip", as_attachment=True, download_name=name)
