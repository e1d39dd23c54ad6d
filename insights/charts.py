"""Bar charts as SVG written on the server: no JavaScript, no CDN, nothing to build, and no script
for the Content-Security-Policy to refuse. Each chart carries its title (`<title>`, named by
`aria-labelledby`) and a `<title>` per bar (the browser's tooltip); the dashboard shows the same
figures in a table beside it for screen readers."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR = "#417690"  # the admin's own blue
GRID = "#ccc"
TEXT = "#333"


def _label_every(count: int, room: int) -> int:
    return max(1, -(-count // room))


def column_chart(*, chart_id: str, title: str, labels: list[str], values: list[int], height: int = 200) -> SafeString:
    """Vertical bars, one per label (a timeline)."""
    width, left, bottom, top = 760, 40, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(values, default=0) or 1
    step = plot_w / max(len(values), 1)
    every = _label_every(len(labels), 12)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title" class="insights-chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="{GRID}"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11" fill="{TEXT}">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" fill="{TEXT}">0</text>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = plot_h * value / peak
        x = left + index * step + step * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{step * 0.8:.1f}" height="{bar_h:.1f}" '
            f'fill="{BAR}"><title>{escape(label)}: {value}</title></rect>'
        )
        if index % every == 0:
            parts.append(
                f'<text x="{x + step * 0.4:.1f}" y="{height - 10}" text-anchor="middle" font-size="11" '
                f'fill="{TEXT}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text in it is escaped above)


def bar_chart(*, chart_id: str, title: str, labels: list[str], values: list[int]) -> SafeString:
    """Horizontal bars, one row per label (the core values)."""
    width, left, row = 760, 200, 24
    height = row * max(len(values), 1) + 10
    plot_w = width - left - 60
    peak = max(values, default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title" class="insights-chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + index * row
        shown = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="12" fill="{TEXT}">{escape(shown)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{plot_w * value / peak:.1f}" height="{row - 8}" fill="{BAR}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{left + plot_w * value / peak + 6:.1f}" y="{y + 16}" font-size="12" fill="{TEXT}">{value}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text in it is escaped above)
