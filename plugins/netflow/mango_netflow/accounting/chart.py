"""Traffic as inline SVG bars (download and upload side by side per day or hour), drawn on the server:
no script, no CDN, no style attribute. The frame and the axis rounding are the monitoring graph's
(:mod:`mango_isp.monitoring.chart`), which draws lines of milliseconds and cannot draw bars."""

from __future__ import annotations

from markupsafe import Markup, escape

from mango_isp.monitoring.chart import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, _nice
from mango_netflow.accounting.service import Volume

UNITS = ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB"), (1, "B"))
IN_COLOUR, OUT_COLOUR = "#2563eb", "#f59e0b"


def human(value: float) -> str:
    """``1.5 GB`` (decimal units, as billing counts)."""
    for size, unit in UNITS:
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return "0 B"


def traffic_chart(volumes: list[Volume], *, title: str, label_format: str, labels: tuple[str, str],
                  chart_id: str = "traffic-chart") -> Markup:
    """Bars of ``bytes_in`` and ``bytes_out`` for each volume (a day or an hour); ``labels`` name them."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice(max([max(v.bytes_in, v.bytes_out) for v in volumes] + [1]))
    slot = plot_w / max(len(volumes), 1)
    bar = max(slot * 0.4, 0.5)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mango-chart netflow-traffic-chart" '
             f'id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
             f'font-size="11" font-family="sans-serif">', f"<title>{escape(title)}</title>"]
    for fraction in (0, 0.5, 1):
        level = top * fraction
        parts.append(f'<line x1="{LEFT}" y1="{y(level):.1f}" x2="{WIDTH - RIGHT}" y2="{y(level):.1f}" '
                     f'stroke="#d1d5db"/><text x="{LEFT - 4}" y="{y(level) + 4:.1f}" text-anchor="end">'
                     f"{escape(human(level))}</text>")
    for i, v in enumerate(volumes):
        x = LEFT + slot * i + slot * 0.1
        when = v.start.strftime(label_format)
        for offset, value, colour, name, kind in ((0, v.bytes_in, IN_COLOUR, labels[0], "in"),
                                                  (bar, v.bytes_out, OUT_COLOUR, labels[1], "out")):
            if value:
                parts.append(f'<rect class="{kind}" x="{x + offset:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
                             f'height="{TOP + plot_h - y(value):.1f}" fill="{colour}"><title>{escape(when)}: '
                             f"{escape(name)} {escape(human(value))}</title></rect>")
    if volumes:
        for v, anchor in ((volumes[0], "start"), (volumes[-1], "end")):
            x = LEFT if anchor == "start" else WIDTH - RIGHT
            parts.append(f'<text x="{x}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
                         f"{escape(v.start.strftime(label_format))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
