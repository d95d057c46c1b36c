"""A server-rendered SVG bar chart: deadlines per week, each bar a link to its cases.

Pure: takes numbers and returns markup built with escaping, so it works without JavaScript
and prints well.
"""

from datetime import date
from html import escape


def deadlines_chart(weeks: list[tuple[date, int, int]], link_for, *, width: int = 640,
                    height: int = 220) -> str:
    """weeks: (Monday, case deadlines, høringsfrister); link_for(Monday) -> URL."""
    left, bottom, top = 28, 36, 14
    plot_height = height - bottom - top
    peak = max([c + h for _, c, h in weeks] + [1])
    slot = (width - left) / max(len(weeks), 1)
    bar = slot * 0.7
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="group" '
             f'aria-label="Frister pr. uge de kommende {len(weeks)} uger" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for tick in _ticks(peak):
        y = top + plot_height - plot_height * tick / peak
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" '
                     f'text-anchor="end">{tick}</text>')
    for index, (monday, cases, hearings) in enumerate(weeks):
        x = left + index * slot + (slot - bar) / 2
        case_h = plot_height * cases / peak
        hearing_h = plot_height * hearings / peak
        base = top + plot_height
        week_no = monday.isocalendar().week
        title = (f"Uge {week_no} ({monday.strftime('%d-%m-%Y')}): {cases} frister, "
                 f"{hearings} høringsfrister")
        parts.append(f'<a href="{escape(link_for(monday))}"><title>{escape(title)}</title>')
        parts.append(f'<rect x="{x:.1f}" y="{base - case_h:.1f}" width="{bar:.1f}" '
                     f'height="{case_h:.1f}" class="bar-deadline"/>')
        parts.append(f'<rect x="{x:.1f}" y="{base - case_h - hearing_h:.1f}" '
                     f'width="{bar:.1f}" height="{hearing_h:.1f}" class="bar-hearing"/>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" class="axis" '
                     f'text-anchor="middle">{week_no}</text></a>')
    parts.append(f'<text x="{left}" y="{height - 4}" class="axis">Uge</text></svg>')
    return "".join(parts)


def _ticks(peak: int) -> list[int]:
    step = max(1, round(peak / 4))
    return list(range(0, peak + 1, step))
