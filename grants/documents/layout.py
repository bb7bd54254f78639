"""What both documents share: the CJK font, paragraph styles, tables, formatting and the page layout."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from ..models import GrantApplication
from .capitals import amount_in_capitals

# A legal document of a Chinese foundation: Chinese whatever language the person's pages are in.
DOCUMENT_LANGUAGE = "zh-hans"
PAGE_MARGINS = {"leftMargin": 22 * mm, "rightMargin": 22 * mm, "topMargin": 20 * mm, "bottomMargin": 22 * mm}
TEXT_WIDTH = A4[0] - PAGE_MARGINS["leftMargin"] - PAGE_MARGINS["rightMargin"]
BLANK_DATE = "_" * 16


class FontMissing(Exception):
    """The CJK font cannot be used, so no document is made (it would print boxes instead of Chinese)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"PDF font {path}: {reason}")
        self.path = path
        self.reason = reason


def document_font() -> str:
    """The name under which the configured CJK font is registered with reportlab (registered once)."""
    path = str(settings.PDF_FONT_PATH)
    if not Path(path).is_file():
        raise FontMissing(path, "no such file; run `python3.11 run.py setup` or set PDF_FONT_PATH")
    return _register_font(path)


@cache
def _register_font(path: str) -> str:
    name = "cjk-" + hashlib.sha256(path.encode()).hexdigest()[:12]
    try:
        # A .ttc collection is read at its first font (subfontIndex 0).
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except (TTFError, OSError) as exc:
        raise FontMissing(path, str(exc)) from exc
    return name


@dataclass(frozen=True)
class Styles:
    """The paragraph styles of a document, all in the CJK font (a standard font would show boxes)."""

    font: str

    def style(self, name: str, size: float, *, leading: float = 1.5, **kwargs: object) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=self.font, fontSize=size, leading=size * leading, wordWrap="CJK",
                              **kwargs)

    @property
    def title(self) -> ParagraphStyle:
        return self.style("title", 20, alignment=TA_CENTER, spaceAfter=4 * mm)

    @property
    def subtitle(self) -> ParagraphStyle:
        return self.style("subtitle", 9.5, alignment=TA_CENTER, textColor=colors.grey, spaceAfter=6 * mm)

    @property
    def heading(self) -> ParagraphStyle:
        return self.style("heading", 12.5, spaceBefore=4 * mm, spaceAfter=2 * mm, keepWithNext=1)

    @property
    def body(self) -> ParagraphStyle:
        return self.style("body", 10.5, spaceAfter=2 * mm)

    @property
    def cell(self) -> ParagraphStyle:
        return self.style("cell", 9.5, leading=1.35)

    @property
    def number(self) -> ParagraphStyle:
        return self.style("number", 9.5, leading=1.35, alignment=TA_RIGHT)


def text(value: object) -> str:
    """Data as paragraph markup: escaped, line breaks kept."""
    return escape(str(value)).replace("\n", "<br/>")


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def day(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "tzinfo"):  # a datetime: the local date
        value = timezone.localdate(value)
    return formats.date_format(value, "DATE_FORMAT")


def amount_line(amount: Decimal) -> str:
    return _("RMB %(capitals)s (¥%(figures)s)") % {"capitals": amount_in_capitals(amount), "figures": money(amount)}


def grid(font: str) -> list[tuple]:
    """The table style every document table starts from: the CJK font, thin grey lines, compact cells."""
    return [("FONTNAME", (0, 0), (-1, -1), font), ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("VALIGN", (0, 0), (-1, -1), "TOP")]


def percent(value: Decimal) -> str:
    """50.00 -> "50%", 12.50 -> "12.5%"."""
    return f"{value.normalize():f}%"


def facts_table(styles: Styles, rows: Sequence[tuple[str, str]]) -> Table:
    """Label/value pairs in two columns; values are markup."""
    data = [[Paragraph(text(label), styles.cell), Paragraph(value, styles.cell)] for label, value in rows]
    table = Table(data, colWidths=column_widths([38 * mm, None]), hAlign="LEFT", spaceAfter=2 * mm)
    table.setStyle(TableStyle([
        *grid(styles.font),
        ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
    ]))
    return table


def column_widths(widths: Sequence[float | None]) -> list[float]:
    """Fixed widths as given; the columns marked None share what is left of the text width."""
    flexible = sum(1 for width in widths if width is None)
    left = (TEXT_WIDTH - sum(width for width in widths if width is not None)) / max(flexible, 1)
    return [left if width is None else width for width in widths]


def data_table(styles: Styles, header: Sequence[str], rows: Sequence[Sequence[object]], *,
               widths: Sequence[float | None], numbers: Sequence[int] = (), total: Sequence[object] = ()) -> Table:
    """A table with a header row, data cells escaped, the `numbers` columns right-aligned, an optional total."""
    def cells(row: Sequence[object]) -> list[Paragraph]:
        return [Paragraph(text(value), styles.number if index in numbers else styles.cell)
                for index, value in enumerate(row)]

    data = [cells(header), *(cells(row) for row in rows)] + ([cells(total)] if total else [])
    table = Table(data, colWidths=column_widths(widths), repeatRows=1, hAlign="LEFT", spaceAfter=2 * mm)
    table.setStyle(TableStyle([
        *grid(styles.font),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        *([("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke)] if total else []),
    ]))
    return table


def grant_reference(application: GrantApplication) -> str:
    """The grant's number on its documents: fund code, year of approval, application number."""
    when = application.approved_at or application.created_at
    return f"{application.fund.code.upper()}-{timezone.localtime(when):%Y}-{application.pk:05d}"


def render(*, title: str, reference: str, author: str, story: Callable[[Styles], list[Flowable]]) -> bytes:
    """Lay out the story on A4 pages with a footer (reference, page number) and return the PDF."""
    styles = Styles(document_font())
    footer = _("%(reference)s · page %(page)s")

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(styles.font, 8.5)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, footer % {"reference": reference, "page": doc.page})
        canvas.restoreState()

    buffer = io.BytesIO()
    # initialFontName: otherwise every page also declares Helvetica, a standard font without Chinese glyphs.
    doc = SimpleDocTemplate(buffer, pagesize=A4, **PAGE_MARGINS, title=title, author=author, subject=reference,
                            creator="community-grants", lang="zh-CN", initialFontName=styles.font)
    doc.build(story(styles), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def parties_rows(application: GrantApplication) -> list[tuple[str, str]]:
    fund, community = application.fund, application.community
    street = community.street_office
    place = " ".join(part for part in (street.city, street.district) if part)
    return [
        (_("Party A (grantor)"), text(fund.foundation.name)),
        (_("Special fund"), text(fund.name)),
        (_("Party B (grantee)"), text(f"{community.name}（{community.get_kind_display()}）")),
        (_("Street office"), text(f"{place} {street.name}".strip())),
    ]
