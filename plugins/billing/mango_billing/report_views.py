"""Opcare pages of the billing reports, their CSV exports and server-drawn SVG charts.

CSV for accounting software (Pohoda, Money S3, ABRA and the like import it as it is):
semicolon-separated, UTF-8 with a byte order mark, CRLF line ends, a header row with fixed
Czech column names (stable whatever the UI language), amounts with a decimal comma and no
thousands separator (``-1234,50``), dates as ``DD.MM.YYYY``, rates as whole or decimal numbers
(``21``). The columns of each export:

* ``ageing.csv`` — Číslo zákazníka; Zákazník; Do splatnosti; 1–30 dnů; 31–60 dnů; 61–90 dnů;
  Nad 90 dnů; Celkem (unpaid amounts as of the day in the file name, one row per customer and a
  last row ``Celkem``).
* ``revenue.csv`` — Skupina (class/product id or ``YYYY-MM``); Název; Základ; DPH; Celkem;
  Počet řádků (credit notes already subtracted).
* ``vat.csv`` — Řádek přiznání; Sazba DPH; Základ daně; DPH; Základ daně (Kč); DPH (Kč); Počet dokladů
  (exact sums, then whole crowns rounded half up per row).
* ``payments.csv`` — Datum; Částka; Měna; Způsob; Stav; VS; KS; SS; Protiúčet; Název protiúčtu;
  Zpráva; Číslo zákazníka; Zákazník; Účet (receivable/prepaid).

No chart library is vendored, so charts are plain SVG bars drawn here (no script, no CDN).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from mango_billing import reports
from mango_billing.card import state_labels
from mango_billing.plan_views import payment_method_labels
from mango_core.auth.access import permission_required
from mango_core.web.i18n import money
from mango_core.web.request import db

bp = Blueprint("billing_reports", __name__, url_prefix="/billing/reports", template_folder="templates")

VIEW = "billing.reports.view"
JOURNAL_PAGE_LIMIT = 1000


class ParamError(ValueError):
    """A report parameter in the URL is wrong; shown above the report's form."""


def bucket_labels() -> dict[str, Any]:
    return {"not_due": _l("Not due"), "d1_30": _l("1–30 days"), "d31_60": _l("31–60 days"),
            "d61_90": _l("61–90 days"), "over_90": _l("over 90 days")}


def group_labels() -> dict[str, Any]:
    return {"month": _l("month"), "class": _l("service class"), "product": _l("product")}


# --- parameters -------------------------------------------------------------------------------------


def _day(name: str, default: date) -> date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ParamError(_("%(value)s is not a date (YYYY-MM-DD expected).", value=raw)) from exc


def _previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _range(default: tuple[date, date]) -> tuple[date, date]:
    start, end = _day("from", default[0]), _day("to", default[1])
    try:
        reports.check_range(start, end)
    except reports.ReportError as exc:
        raise ParamError(_("Choose a period whose end is not before its start and which is at most ten years long.")) \
            from exc
    return start, end


# --- CSV --------------------------------------------------------------------------------------------


def csv_amount(value: Decimal | None) -> str:
    """``-1234,50``: a decimal comma and no thousands separator, as Czech accounting imports expect."""
    return "" if value is None else format(value, "f").replace(".", ",")


def csv_day(value: date | None) -> str:
    return "" if value is None else value.strftime("%d.%m.%Y")


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    body = "\ufeff" + buffer.getvalue()
    return Response(body.encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- SVG charts -------------------------------------------------------------------------------------


def bar_chart(bars: Sequence[tuple[str, Decimal]], *, title: str, chart_id: str, height: int = 220,
              fmt: Callable[[Decimal], str] = str) -> Markup:
    """A bar chart as inline SVG; negative bars hang below the zero line; ``fmt`` writes a bar's tooltip."""
    if not bars:
        return Markup("")
    slot, top, bottom, left = 72, 22, 34, 8
    width = left * 2 + slot * len(bars)
    high = max([v for _label, v in bars] + [Decimal(0)])
    low = min([v for _label, v in bars] + [Decimal(0)])
    span = (high - low) or Decimal(1)
    plot = height - top - bottom
    zero_y = top + float(high / span) * plot
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mango-chart" id="{escape(chart_id)}" role="img" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'style="max-width:100%;height:auto;font:11px sans-serif">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{left}" y1="{zero_y:.1f}" x2="{width - left}" y2="{zero_y:.1f}" stroke="#9ca3af"/>']
    for i, (label, value) in enumerate(bars):
        bar_h = float(abs(value) / span) * plot
        x = left + i * slot + 10
        y = zero_y - bar_h if value >= 0 else zero_y
        color = "#f59e0b" if value >= 0 else "#dc2626"
        text_y = (y - 4) if value >= 0 else (y + bar_h + 12)
        parts.append(f'<g class="bar" data-label="{escape(label)}" data-value="{value}">'
                     f'<rect x="{x}" y="{y:.1f}" width="{slot - 20}" height="{max(bar_h, 0.5):.1f}" fill="{color}">'
                     f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
                     f'<text x="{x + (slot - 20) / 2:.1f}" y="{text_y:.1f}" text-anchor="middle">'
                     f"{escape(_short(value))}</text>"
                     f'<text x="{x + (slot - 20) / 2:.1f}" y="{height - 12}" text-anchor="middle">{escape(label)}</text>'
                     f"</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: Decimal) -> str:
    """A bar's label: whole units, thousands as "k" (the exact amount is in the table and the tooltip)."""
    if abs(value) >= 10000:
        return f"{(value / 1000).quantize(Decimal('1'))}k"
    return f"{value.quantize(Decimal('1'))}"


# --- pages ------------------------------------------------------------------------------------------


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    return render_template("billing/screens_reports.html")


@bp.get("/ageing")
@permission_required(VIEW)
def ageing():  # noqa: ANN201
    try:
        as_of = _day("as_of", date.today())
    except ParamError as exc:
        return _page("billing/screens_report_ageing.html", 400, error=str(exc), report=None, as_of=date.today(),
                     buckets=bucket_labels())
    report = reports.ageing(db(), as_of)
    chart = bar_chart([(str(label), report.totals[key]) for key, label in bucket_labels().items()],
                      title=_("Receivables ageing"), chart_id="chart-ageing", fmt=money)
    return _page("billing/screens_report_ageing.html", report=report, as_of=as_of, buckets=bucket_labels(),
                 chart=chart, error=None)


@bp.get("/ageing.csv")
@permission_required(VIEW)
def ageing_csv():  # noqa: ANN201
    try:
        as_of = _day("as_of", date.today())
    except ParamError as exc:
        return str(exc), 400
    report = reports.ageing(db(), as_of)
    header = ["Číslo zákazníka", "Zákazník", "Do splatnosti", "1–30 dnů", "31–60 dnů", "61–90 dnů", "Nad 90 dnů",
              "Celkem"]
    rows: list[list[Any]] = [[r.number, r.name, *(csv_amount(r.bucket(b)) for b in reports.BUCKETS),
                              csv_amount(r.total)] for r in report.rows]
    rows.append(["", "Celkem", *(csv_amount(report.totals[b]) for b in reports.BUCKETS), csv_amount(report.total)])
    return csv_response(f"saldokonto-{as_of.isoformat()}.csv", header, rows)


def _revenue_params() -> tuple[date, date, str]:
    today = date.today()
    start, end = _range((date(today.year, 1, 1), today))
    group = request.args.get("group", "month")
    if group not in reports.REVENUE_GROUPS:
        raise ParamError(_("Choose a grouping from the list."))
    return start, end, group


@bp.get("/revenue")
@permission_required(VIEW)
def revenue():  # noqa: ANN201
    try:
        start, end, group = _revenue_params()
    except ParamError as exc:
        today = date.today()
        return _page("billing/screens_report_revenue.html", 400, error=str(exc), report=None,
                     date_from=date(today.year, 1, 1), date_to=today, group="month", groups=group_labels())
    report = reports.revenue(db(), start, end, group)
    chart = None
    if group == "month":
        chart = bar_chart([(r.label, r.base) for r in report.rows], title=_("Revenue by month (without VAT)"),
                          chart_id="chart-revenue", fmt=money)
    return _page("billing/screens_report_revenue.html", report=report, date_from=start, date_to=end, group=group,
                 groups=group_labels(), chart=chart, error=None)


@bp.get("/revenue.csv")
@permission_required(VIEW)
def revenue_csv():  # noqa: ANN201
    try:
        start, end, group = _revenue_params()
    except ParamError as exc:
        return str(exc), 400
    report = reports.revenue(db(), start, end, group)
    rows = [[r.key, r.label or "Bez produktu", csv_amount(r.base), csv_amount(r.vat), csv_amount(r.total), r.lines]
            for r in report.rows]
    return csv_response(f"trzby-{group}-{start.isoformat()}-{end.isoformat()}.csv",
                        ["Skupina", "Název", "Základ", "DPH", "Celkem", "Počet řádků"], rows)


@bp.get("/vat")
@permission_required(VIEW)
def vat():  # noqa: ANN201
    try:
        start, end = _range(_previous_month(date.today()))
    except ParamError as exc:
        start, end = _previous_month(date.today())
        return _page("billing/screens_report_vat.html", 400, error=str(exc), report=None, date_from=start,
                     date_to=end)
    report = reports.vat_summary(db(), start, end)
    return _page("billing/screens_report_vat.html", report=report, date_from=start, date_to=end, error=None)


@bp.get("/vat.csv")
@permission_required(VIEW)
def vat_csv():  # noqa: ANN201
    try:
        start, end = _range(_previous_month(date.today()))
    except ParamError as exc:
        return str(exc), 400
    report = reports.vat_summary(db(), start, end)
    rows = [[r.line, csv_amount(r.rate.normalize()), csv_amount(r.base), csv_amount(r.vat), csv_amount(r.base_czk),
             csv_amount(r.vat_czk), r.documents] for r in report.rows]
    return csv_response(f"dph-{start.isoformat()}-{end.isoformat()}.csv",
                        ["Řádek přiznání", "Sazba DPH", "Základ daně", "DPH", "Základ daně (Kč)", "DPH (Kč)",
                         "Počet dokladů"], rows)


def _journal_params() -> tuple[date, date, str | None, str | None]:
    today = date.today()
    start, end = _range((today.replace(day=1), today))
    method = request.args.get("method") or None
    state = request.args.get("state") or None
    if method is not None and method not in payment_method_labels():
        raise ParamError(_("Choose a payment method from the list."))
    if state is not None and state not in reports.JOURNAL_STATES:
        raise ParamError(_("Choose a payment state from the list."))
    return start, end, method, state


@bp.get("/payments")
@permission_required(VIEW)
def payments():  # noqa: ANN201
    labels = {"methods": payment_method_labels(), "states": state_labels(), "journal_states": reports.JOURNAL_STATES}
    try:
        start, end, method, state = _journal_params()
    except ParamError as exc:
        today = date.today()
        return _page("billing/screens_report_payments.html", 400, error=str(exc), report=None,
                     date_from=today.replace(day=1), date_to=today, method=None, state=None, **labels)
    report = reports.payments_journal(db(), start, end, method=method, state=state, limit=JOURNAL_PAGE_LIMIT)
    return _page("billing/screens_report_payments.html", report=report, date_from=start, date_to=end, method=method,
                 state=state, error=None, limit=JOURNAL_PAGE_LIMIT, **labels)


@bp.get("/payments.csv")
@permission_required(VIEW)
def payments_csv():  # noqa: ANN201
    try:
        start, end, method, state = _journal_params()
    except ParamError as exc:
        return str(exc), 400
    report = reports.payments_journal(db(), start, end, method=method, state=state)
    rows = [[csv_day(r.received_on), csv_amount(r.amount), r.currency, r.method, r.state, r.variable_symbol,
             r.constant_symbol, r.specific_symbol, r.counter_account, r.counter_name, r.message, r.customer_number,
             r.customer_name, r.target] for r in report.rows]
    return csv_response(f"platby-{start.isoformat()}-{end.isoformat()}.csv",
                        ["Datum", "Částka", "Měna", "Způsob", "Stav", "VS", "KS", "SS", "Protiúčet", "Název protiúčtu",
                         "Zpráva", "Číslo zákazníka", "Zákazník", "Účet"], rows)
