"""A small bar chart as SVG text: pass@1 per mode, and where each mode's wall time went."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

WIDTH, HEIGHT = 720, 300
_TIME_PARTS = (("model", "#4c78a8"), ("tests", "#f58518"), ("orchestration", "#9d9d9d"))
_PASS_COLOUR = "#54a24b"


def bar_chart(title: str, *, pass_rates: Mapping[str, float],
              seconds: Mapping[str, tuple[float, float, float]]) -> str:
    """Left: one bar per mode, its pass@1 (0 to 100 %). Right: one stacked bar per mode, its
    wall time split into model calls, test runs and orchestration."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             _text(WIDTH / 2, 22, title, size=14, anchor="middle")]
    parts += _pass_panel(pass_rates)
    parts += _time_panel(seconds)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _pass_panel(rates: Mapping[str, float]) -> list[str]:
    left, bottom, height, bar = 60, 250, 190, 60
    out = [_text(left, 48, "pass@1"),
           f'<line x1="{left}" y1="{bottom}" x2="{left + 220}" y2="{bottom}" stroke="black"/>']
    for i, (mode, rate) in enumerate(rates.items()):
        x, h = left + 20 + i * (bar + 30), height * max(0.0, min(rate, 1.0))
        out += [f'<rect x="{x}" y="{bottom - h:.1f}" width="{bar}" height="{h:.1f}" '
                f'fill="{_PASS_COLOUR}"/>',
                _text(x + bar / 2, bottom - h - 6, f"{rate:.1%}", anchor="middle"),
                _text(x + bar / 2, bottom + 16, mode, anchor="middle")]
    return out


def _time_panel(seconds: Mapping[str, tuple[float, float, float]]) -> list[str]:
    left, top, span, bar = 400, 70, 280, 34
    longest = max((sum(v) for v in seconds.values()), default=0.0) or 1.0
    out = [_text(left, 48, "wall time (s)")]
    for i, (mode, values) in enumerate(seconds.items()):
        y, x = top + i * (bar + 26), float(left)
        out.append(_text(left - 8, y + bar / 2 + 4, mode, anchor="end"))
        for value, (_, colour) in zip(values, _TIME_PARTS, strict=True):
            w = span * value / longest
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" '
                       f'fill="{colour}"/>')
            x += w
        out.append(_text(x + 4, y + bar / 2 + 4, f"{sum(values):.0f}"))
    for j, (name, colour) in enumerate(_TIME_PARTS):
        x = left + j * 100
        out += [f'<rect x="{x}" y="{HEIGHT - 30}" width="12" height="12" fill="{colour}"/>',
                _text(x + 16, HEIGHT - 20, name)]
    return out


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">'
            f"{escape(text)}</text>")
