
"""A report as HTML that mail clients render: tables for layout, every style inline, no
scripts, no external resources; images are ``cid:`` parts of the same message (or, for a
preview file, ``data:`` URIs). 640 px wide, system fonts.

Cells that show a history value carry ``data-ref="metric@period"`` (see ``report``).
"""

from __future__ import annotations

import base64
import re
from html import escape

from digests.report import Cell, Chart, Charts, Paragraph, Report, Table

FONT = "font-family:-apple-system,'Segoe UI',Roboto,Arial,Helvetica,sans-serif"
INK, MUTED, LINE, BG = "#1e293b", "#64748b", "#e2e8f0", "#f1f5f9"
NUMERIC = re.compile(r"^$|^[−+±\-—\d]")
TONES = {"": INK, "good": "#15803d", "bad": "#b91c1c", "muted": MUTED}


def _cell(c: Cell, *, first: bool, header: bool = False) -> str:
    align = "left" if first else "right"
    if header:
        style = (f"padding:6px 8px;border-bottom:2px solid {LINE};color:{MUTED};font-size:12px;"
                 f"font-weight:600;text-align:{align};{FONT}")
        return f'<th style="{style}">{escape(c.text)}</th>'
    weight = "700" if c.bold else "400"
    style = (f"padding:6px 8px;border-bottom:1px solid {LINE};color:{TONES[c.tone]};"
             f"font-size:13px;font-weight:{weight};text-align:{align};vertical-align:top;{FONT}")
    ref = f' data-ref="{escape(c.ref)}"' if c.ref else ""
    return f'<td style="{style}"{ref}>{escape(c.text)}</td>'


def _title(text: str, note: str) -> str:
    out = (f'<tr><td style="padding:22px 24px 4px 24px;{FONT};font-size:16px;font-weight:700;'
           f'color:{INK}">{escape(text)}</td></tr>')
    if note:
        out += (f'<tr><td style="padding:0 24px 6px 24px;{FONT};font-size:12px;color:{MUTED}">'
                f'{escape(note)}</td></tr>')
    return out


def _table(t: Table) -> str:
    out = _title(t.title, t.note)
    if not t.rows:
        return out + (f'<tr><td style="padding:4px 24px 8px 24px;{FONT};font-size:13px;'
                      f'color:{MUTED}">{escape(t.empty)}</td></tr>')
    # numbers right-aligned, words left-aligned
    text_cols = {i for i, _ in enumerate(t.columns)
                 if not all(NUMERIC.match(r[i].text) for r in t.rows if i < len(r))}
    head = "".join(_cell(Cell(c), first=i == 0 or i in text_cols, header=True)
                   for i, c in enumerate(t.columns))
    body = "".join("<tr>" + "".join(_cell(c, first=i == 0 or i in text_cols)
                                    for i, c in enumerate(row)) + "</tr>" for row in t.rows)
    return out + ('<tr><td style="padding:0 16px">'
                  '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
                  f'border="0" style="border-collapse:collapse">{head}{body}</table></td></tr>')


def _src(chart: Chart, inline: bool) -> str:
    if inline:
        return "data:image/png;base64," + base64.b64encode(chart.png).decode()
    return f"cid:{chart.cid}"


def _charts(block: Charts, inline: bool) -> str:
    out = _title(block.title, block.note)
    cells = [(f'<td width="50%" style="padding:6px 8px;vertical-align:top;{FONT};font-size:12px;'
              f'color:{MUTED}">{escape(c.caption)}<br><img src="{_src(c, inline)}" width="288" '
              f'height="115" alt="{escape(c.caption)}" style="display:block;border:0;'
              f'width:288px;height:115px"></td>') for c in block.charts]
    rows = ["<tr>" + "".join(cells[i:i + 2]) + ("<td></td>" if i + 1 >= len(cells) else "")
            + "</tr>" for i in range(0, len(cells), 2)]
    return out + ('<tr><td style="padding:0 16px"><table role="presentation" width="100%" '
                  f'cellpadding="0" cellspacing="0" border="0">{"".join(rows)}</table></td></tr>')


def _paragraph(p: Paragraph) -> str:
    return (f'<tr><td style="padding:10px 24px;{FONT};font-size:13px;color:{TONES[p.tone]}">'
            f'{escape(p.text)}</td></tr>')


def _header(r: Report) -> str:
    tiles = "".join(
        f'<td style="padding:10px 12px;background:#ffffff;border-radius:6px;{FONT}">'
        f'<div style="font-size:11px;color:{MUTED}">{escape(label)}</div>'
        f'<div style="font-size:22px;font-weight:700;color:{INK}">{escape(value)}</div></td>'
        f'<td width="8"></td>' for label, value in r.headline)
    late = (f'<tr><td style="padding:10px 24px;background:#fef3c7;{FONT};font-size:13px;'
            f'color:#92400e">{escape(r.late_note)}</td></tr>') if r.late_note else ""
    return (f'<tr><td style="padding:20px 24px 14px 24px;background:#1e3a8a;{FONT}">'
            f'<div style="font-size:12px;color:#bfdbfe">{escape(r.title)}</div>'
            f'<div style="font-size:20px;font-weight:700;color:#ffffff">{escape(r.scope_name)}'
            f'</div><div style="font-size:13px;color:#dbeafe">{escape(r.period_text)}</div></td>'
            f'</tr>{late}<tr><td style="padding:14px 16px 0 16px;background:{BG}">'
            f'<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>{tiles}'
            '</tr></table></td></tr>')


def render(report: Report, *, inline_images: bool = False) -> str:
    """The HTML part of the mail (``inline_images``: ``data:`` URIs, for a preview file)."""
    body = []
    for block in report.blocks:
        if isinstance(block, Table):
            body.append(_table(block))
        elif isinstance(block, Charts):
            body.append(_charts(block, inline_images))
        else:
            body.append(_paragraph(block))
    footer = (f'<tr><td style="padding:18px 24px 24px 24px;{FONT};font-size:11px;'
              f'color:{MUTED}">{escape(report.footer)}</td></tr>')
    return (
        f'<!DOCTYPE html><html lang="{report.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(report.subject)}</title></head>"
        f'<body style="margin:0;padding:0;background:{BG}">'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="background:{BG}"><tr><td align="center" style="padding:16px 8px">'
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:640px;max-width:100%;background:#ffffff;border:1px solid {LINE}">'
        f'{_header(report)}<tr><td style="background:{BG};height:14px"></td></tr>'
        f'{"".join(body)}{footer}</table></td></tr></table></body></html>'
    )
