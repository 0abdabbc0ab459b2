"""The RTT graph as inline SVG, drawn on the server: no script, no CDN, no style attribute (CSP-friendly)."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 26


def rtt_chart(points: list[tuple[datetime, float | None, int]], start: datetime, end: datetime, *,
              title: str, chart_id: str = "rtt-chart") -> Markup:
    """Mean RTT per bucket as a line (broken where a bucket had no answer), lost buckets as red ticks."""
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [rtt for _at, rtt, _loss in points if rtt is not None]
    top = _nice(max(values) if values else 1.0)

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(1.0, max(0.0, (at - start).total_seconds() / span))

    def y(rtt: float) -> float:
        return TOP + plot_h * (1 - rtt / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mango-chart isp-rtt-chart" id="{escape(chart_id)}" '
             f'role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-size="11" '
             f'font-family="sans-serif">', f"<title>{escape(title)}</title>"]
    for fraction in (0, 0.5, 1):
        level = top * fraction
        parts.append(f'<line x1="{LEFT}" y1="{y(level):.1f}" x2="{WIDTH - RIGHT}" y2="{y(level):.1f}" '
                     f'stroke="#d1d5db"/><text x="{LEFT - 4}" y="{y(level) + 4:.1f}" text-anchor="end">'
                     f"{level:g} ms</text>")
    for at, label in ((start, start.strftime("%d.%m. %H:%M")), (end, end.strftime("%d.%m. %H:%M"))):
        anchor = "start" if at == start else "end"
        parts.append(f'<text x="{x(at):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(label)}</text>')
    run: list[str] = []
    for at, rtt, loss in points:
        if rtt is None:
            if len(run) > 1:
                parts.append(f'<polyline class="rtt" fill="none" stroke="#2563eb" stroke-width="1.5" '
                             f'points="{" ".join(run)}"/>')
            run = []
        else:
            run.append(f"{x(at):.1f},{y(rtt):.1f}")
            parts.append(f'<circle class="sample" cx="{x(at):.1f}" cy="{y(rtt):.1f}" r="1.5" fill="#2563eb">'
                         f"<title>{escape(at.strftime('%d.%m. %H:%M'))}: {rtt:.2f} ms, {loss} %</title></circle>")
        if loss:
            parts.append(f'<rect class="loss" x="{x(at) - 1:.1f}" y="{HEIGHT - BOTTOM}" width="2" height="6" '
                         f'fill="#dc2626"><title>{escape(at.strftime("%d.%m. %H:%M"))}: {loss} %</title></rect>')
    if len(run) > 1:
        parts.append(f'<polyline class="rtt" fill="none" stroke="#2563eb" stroke-width="1.5" points="{" ".join(run)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(value: float) -> float:
    """A round upper bound of the axis: 1, 2 or 5 times a power of ten."""
    scale = 1.0
    while scale * 10 < value:
        scale *= 10
    while scale > value and scale > 0.001:
        scale /= 10
    for step in (1, 2, 5, 10):
        if scale * step >= value:
            return scale * step
    return scale * 10


IN_COLOUR, OUT_COLOUR = "#16a34a", "#2563eb"


def traffic_chart(points: list[tuple[datetime, float | None, float | None]], start: datetime, end: datetime, *,
                  title: str, chart_id: str = "traffic-chart", labels: tuple[str, str] = ("in", "out")) -> Markup:
    """In and out bit rates per bucket as two lines (broken where a bucket has no rate), a legend, an SI axis."""
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for _at, rx, tx in points for v in (rx, tx) if v is not None]
    top = _nice(max(values) if values and max(values) > 0 else 1000.0)

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(1.0, max(0.0, (at - start).total_seconds() / span))

    def y(rate: float) -> float:
        return TOP + plot_h * (1 - rate / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mango-chart isp-traffic-chart" id="{escape(chart_id)}" '
             f'role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-size="11" '
             f'font-family="sans-serif">', f"<title>{escape(title)}</title>"]
    for fraction in (0, 0.5, 1):
        level = top * fraction
        parts.append(f'<line x1="{LEFT}" y1="{y(level):.1f}" x2="{WIDTH - RIGHT}" y2="{y(level):.1f}" '
                     f'stroke="#d1d5db"/><text x="{LEFT - 4}" y="{y(level) + 4:.1f}" text-anchor="end">'
                     f"{escape(si_rate(level))}</text>")
    for at, label in ((start, start.strftime("%d.%m. %H:%M")), (end, end.strftime("%d.%m. %H:%M"))):
        anchor = "start" if at == start else "end"
        parts.append(f'<text x="{x(at):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(label)}</text>')
    for n, (name, colour) in enumerate(((labels[0], IN_COLOUR), (labels[1], OUT_COLOUR))):
        parts.append(f'<rect x="{LEFT + 8 + n * 70}" y="{TOP - 10}" width="10" height="3" fill="{colour}"/>'
                     f'<text x="{LEFT + 22 + n * 70}" y="{TOP - 6}">{escape(name)}</text>')
    for column, (css, colour) in enumerate((("in", IN_COLOUR), ("out", OUT_COLOUR)), start=1):
        run: list[str] = []
        for point in points:
            at, rate = point[0], point[column]
            if rate is None:
                if len(run) > 1:
                    parts.append(f'<polyline class="{css}" fill="none" stroke="{colour}" stroke-width="1.5" '
                                 f'points="{" ".join(run)}"/>')
                run = []
                continue
            run.append(f"{x(at):.1f},{y(rate):.1f}")
            parts.append(f'<circle class="sample {css}" cx="{x(at):.1f}" cy="{y(rate):.1f}" r="1.2" fill="{colour}">'
                         f"<title>{escape(at.strftime('%d.%m. %H:%M'))}: {escape(si_rate(rate))}</title></circle>")
        if len(run) > 1:
            parts.append(f'<polyline class="{css}" fill="none" stroke="{colour}" stroke-width="1.5" '
                         f'points="{" ".join(run)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def si_rate(bps: float | None) -> str:
    """A bit rate with an SI prefix: ``950 bit/s``, ``12.5 Mbit/s``."""
    if bps is None:
        return "—"
    for factor, unit in ((1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if bps >= factor:
            return f"{bps / factor:.3g} {unit}"
    return f"{bps:.0f} bit/s"
