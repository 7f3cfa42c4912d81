"""A report as PDF (fpdf2: pure Python, no browser): the same blocks as the mail, A4.

Cyrillic needs a Unicode TrueType font; matplotlib (a runtime dependency for the charts)
ships DejaVu Sans in its ``mpl-data``, so the PDF embeds that (subset) and needs nothing
installed on the system.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from digests.html import NUMERIC
from digests.report import Cell, Charts, Paragraph, Report, Table

FONT = "DejaVu"
_TTF = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
RGB = {"": (30, 41, 59), "good": (21, 128, 61), "bad": (185, 28, 28), "muted": (100, 116, 139)}
HEADER_BG = (30, 58, 138)
LINE = (226, 232, 240)


class _Doc(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(*RGB["muted"])
        self.cell(0, 5, f"{self.footer_text}  ·  {self.page_no()}/{{nb}}", align="C")


def _new(report: Report) -> _Doc:
    doc = _Doc(format="A4", unit="mm")
    doc.add_font(FONT, "", str(_TTF / "DejaVuSans.ttf"))
    doc.add_font(FONT, "B", str(_TTF / "DejaVuSans-Bold.ttf"))
    doc.set_title(report.subject)
    doc.set_creator("cxpulse")
    doc.set_lang(report.lang)
    doc.footer_text = report.footer
    doc.set_auto_page_break(True, margin=16)
    doc.set_margins(14, 14, 14)
    doc.add_page()
    return doc


def _heading(doc: _Doc, report: Report) -> None:
    doc.set_fill_color(*HEADER_BG)
    doc.rect(0, 0, doc.w, 34, style="F")
    doc.set_xy(14, 8)
    doc.set_text_color(191, 219, 254)
    doc.set_font(FONT, "", 9)
    doc.cell(0, 5, report.title, new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(255, 255, 255)
    doc.set_font(FONT, "B", 16)
    doc.cell(0, 8, report.scope_name, new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FONT, "", 10)
    doc.cell(0, 6, report.period_text, new_x="LMARGIN", new_y="NEXT")
    doc.set_y(38)
    if report.late_note:
        doc.set_fill_color(254, 243, 199)
        doc.set_text_color(146, 64, 14)
        doc.set_font(FONT, "", 9)
        doc.multi_cell(0, 6, report.late_note, fill=True, new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
    width = (doc.epw - 4 * (len(report.headline) - 1)) / max(len(report.headline), 1)
    y = doc.get_y()
    for i, (label, value) in enumerate(report.headline):
        x = doc.l_margin + i * (width + 4)
        doc.set_fill_color(241, 245, 249)
        doc.rect(x, y, width, 16, style="F")
        doc.set_xy(x + 3, y + 2)
        doc.set_text_color(*RGB["muted"])
        doc.set_font(FONT, "", 8)
        doc.cell(width - 6, 4, label)
        doc.set_xy(x + 3, y + 7)
        doc.set_text_color(*RGB[""])
        doc.set_font(FONT, "B", 14)
        doc.cell(width - 6, 7, value)
    doc.set_y(y + 20)


def _title(doc: _Doc, text: str, note: str) -> None:
    if doc.get_y() > doc.h - 50:
        doc.add_page()
    doc.ln(3)
    doc.set_text_color(*RGB[""])
    doc.set_font(FONT, "B", 12)
    doc.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    if note:
        doc.set_text_color(*RGB["muted"])
        doc.set_font(FONT, "", 8)
        doc.multi_cell(0, 4.5, note, new_x="LMARGIN", new_y="NEXT")
    doc.ln(1)


def _table(doc: _Doc, t: Table) -> None:
    _title(doc, t.title, t.note)
    if not t.rows:
        doc.set_text_color(*RGB["muted"])
        doc.set_font(FONT, "", 9)
        doc.multi_cell(0, 5, t.empty, new_x="LMARGIN", new_y="NEXT")
        return
    doc.set_font(FONT, "", 8)
    doc.set_draw_color(*LINE)
    widths = t.widths if len(t.widths) == len(t.columns) else None
    head = FontFace(family=FONT, emphasis="B", color=RGB["muted"], fill_color=(248, 250, 252))
    with doc.table(col_widths=widths, first_row_as_headings=True, headings_style=head,
                   borders_layout="HORIZONTAL_LINES", line_height=4.6, text_align="LEFT",
                   padding=(1.2, 1.5, 1.2, 1.5), width=doc.epw) as table:
        aligns = [_align(t, i) for i in range(len(t.columns))]
        row = table.row()
        for name, align in zip(t.columns, aligns, strict=True):
            row.cell(name, align=align)
        for cells in t.rows:
            row = table.row()
            for c, align in zip(cells, aligns, strict=False):
                row.cell(c.text, style=_face(c), align=align)
    doc.ln(2)


def _align(t: Table, col: int) -> str:
    """Numbers right, words left (as in the mail)."""
    numeric = all(NUMERIC.match(r[col].text) for r in t.rows if col < len(r))
    return "RIGHT" if numeric and col > 0 else "LEFT"


def _face(c: Cell) -> FontFace:
    return FontFace(family=FONT, emphasis="B" if c.bold else "", color=RGB[c.tone])


def _charts(doc: _Doc, block: Charts) -> None:
    _title(doc, block.title, block.note)
    width = (doc.epw - 6) / 2
    height = width * 0.4 + 5
    for i, chart in enumerate(block.charts):
        if i % 2 == 0 and doc.get_y() + height > doc.h - 16:
            doc.add_page()
        x = doc.l_margin + (i % 2) * (width + 6)
        y = doc.get_y()
        doc.set_xy(x, y)
        doc.set_text_color(*RGB["muted"])
        doc.set_font(FONT, "", 8)
        doc.cell(width, 4, chart.caption)
        doc.image(io.BytesIO(chart.png), x=x, y=y + 4.5, w=width)
        if i % 2 == 1 or i == len(block.charts) - 1:
            doc.set_y(y + height + 1)


def render(report: Report) -> bytes:
    """The report as a PDF file's bytes."""
    doc = _new(report)
    _heading(doc, report)
    for block in report.blocks:
        if isinstance(block, Table):
            _table(doc, block)
        elif isinstance(block, Charts):
            _charts(doc, block)
        elif isinstance(block, Paragraph):
            doc.set_text_color(*RGB[block.tone])
            doc.set_font(FONT, "", 9)
            doc.multi_cell(0, 5, block.text, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
