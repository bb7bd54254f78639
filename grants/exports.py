"""The fund statement as an XLSX workbook: a summary sheet and the period's ledger entries.

Written with openpyxl in write-only mode, row by row, so a long ledger never sits in memory as cells.
Donations appear by receipt number only: a donor's name is never written, anonymous or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import IO

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .models import LedgerEntry
from .selectors.money import Statement

MONEY_FORMAT = "#,##0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def statement_lines(statement: Statement) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    """(label, opening, movement, closing) of each of the fund's totals, in the order the page shows them."""
    opening, closing, moved = statement.opening, statement.closing, statement.movements
    labels = (
        ("received_total", _("Donations received")),
        ("fees_total", _("Management fees")),
        ("committed_total", _("Committed by approvals (net of releases)")),
        ("paid_total", _("Paid to projects")),
        ("returned_total", _("Returned by projects")),
        ("available", _("Available")),
    )
    return [(label, getattr(opening, name), getattr(moved, name), getattr(closing, name)) for name, label in labels]


def _cell(sheet: WriteOnlyWorksheet, value: object, *, number_format: str = "", bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if number_format:
        cell.number_format = number_format
    if bold:
        cell.font = Font(bold=True)
    return cell


def _local(moment: dt.datetime) -> dt.datetime:
    # Excel has no time zones: write the foundation's local time, as people read it on the page.
    return timezone.localtime(moment).replace(tzinfo=None)


def _summary_sheet(book: Workbook, statement: Statement) -> None:
    sheet = book.create_sheet(_("Statement"))
    sheet.column_dimensions["A"].width = 42
    for column in "BCD":
        sheet.column_dimensions[column].width = 18
    sheet.append([_cell(sheet, statement.fund.name, bold=True)])
    sheet.append([_("Period"), statement.start, statement.end])
    sheet.append([])
    sheet.append([_cell(sheet, text, bold=True) for text in ("", _("Opening"), _("Movements"), _("Closing"))])
    for label, opening, moved, closing in statement_lines(statement):
        sheet.append([label, *(_cell(sheet, value, number_format=MONEY_FORMAT) for value in (opening, moved, closing))])


LEDGER_COLUMNS = (("seq", 8), ("time", 20), ("kind", 28), ("amount", 16), ("application", 40),
                  ("community", 16), ("receipt", 22), ("memo", 48), ("available", 18))


def _ledger_sheet(book: Workbook, entries: Iterable[LedgerEntry]) -> None:
    sheet = book.create_sheet(_("Ledger"))
    for index, (_name, width) in enumerate(LEDGER_COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    headers = (_("No."), _("Time"), _("Kind"), _("Amount (yuan)"), _("Application"), _("Community"),
               _("Donation receipt number"), _("Memo"), _("Available after (yuan)"))
    sheet.append([_cell(sheet, header, bold=True) for header in headers])
    for entry in entries:
        application = entry.application
        sheet.append([
            entry.seq,
            _cell(sheet, _local(entry.created_at), number_format=TIME_FORMAT),
            entry.get_kind_display(),
            _cell(sheet, entry.amount, number_format=MONEY_FORMAT),
            application.title if application else "",
            application.community.name if application else "",
            (entry.donation.receipt_number or "") if entry.donation_id else "",
            entry.memo,
            _cell(sheet, entry.available, number_format=MONEY_FORMAT),
        ])


def write_statement_xlsx(statement: Statement, entries: Iterable[LedgerEntry], out: IO[bytes]) -> None:
    """Write the statement's workbook to `out`: the summary sheet, then one row per ledger entry."""
    book = Workbook(write_only=True)
    _summary_sheet(book, statement)
    _ledger_sheet(book, entries)
    book.save(out)


def statement_filename(statement: Statement) -> str:
    return f"{statement.fund.code}-statement-{statement.start:%Y%m%d}-{statement.end:%Y%m%d}.xlsx"
