"""Bank statement import: read a CSV or XLSX statement, check every row, then record all rows or none."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import ActionForbidden, ApplicationConflict, ApplicationError
from ..models import Community, Donation, Fund, Role, ServiceCategory
from ..permissions import holds_foundation_role
from .ledger import lock_balance
from .money import donation_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# An XLSX is a zip: refuse one that would unpack to far more than any real statement (a "zip bomb").
MAX_XLSX_UNPACKED_BYTES = 100 * 1024 * 1024
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what Donation.amount (14 digits, 2 decimals) can hold


@dataclass(frozen=True)
class Column:
    key: str
    chinese: str
    required: bool

    @property
    def label(self) -> str:
        return f"{self.chinese}/{self.key}"


COLUMNS = (
    Column("date", "日期", required=True),
    Column("amount", "金额", required=True),
    Column("payer", "付款人", required=True),
    Column("bank_reference", "银行流水号", required=True),
    Column("memo", "附言", required=True),
    Column("restricted_category", "限定类别", required=False),
    Column("restricted_community", "限定社区", required=False),
    Column("anonymous", "匿名", required=False),
    Column("public_acknowledgement", "公开致谢", required=False),
)
COLUMN_LABELS = {column.key: column.label for column in COLUMNS}
YES = frozenset({"是", "yes", "y", "true", "1"})
NO = frozenset({"否", "no", "n", "false", "0", ""})
LENGTHS = {"payer": Donation._meta.get_field("donor_name").max_length,
           "memo": Donation._meta.get_field("purpose").max_length,
           "bank_reference": Donation._meta.get_field("bank_reference").max_length}
DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
COMPACT_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:[ T]?\d{2}:?\d{2}(?::?\d{2})?)?")
NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)
THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)


def _header_key(text: object) -> str:
    normalised = unicodedata.normalize("NFKC", str(text or "")).strip().lstrip("\ufeff").strip("* ").lower()
    return re.sub(r"[\s\-]+", "_", normalised)


HEADER_KEYS = {alias: column.key for column in COLUMNS for alias in (_header_key(column.chinese), column.key)}


@dataclass(frozen=True)
class RowError:
    """One problem of the file: its spreadsheet line (header = 1), the column it is in, and what is wrong."""

    line: int
    column: str
    message: str

    @property
    def column_label(self) -> str:
        return COLUMN_LABELS.get(self.column, "")


@dataclass
class StatementRow:
    """One line of the statement: as written (for the preview) and as understood (for the import)."""

    line: int
    raw: dict[str, str]
    received_on: dt.date | None = None
    amount: Decimal | None = None
    payer: str = ""
    bank_reference: str = ""
    memo: str = ""
    restricted_category: ServiceCategory | None = None
    restricted_community: Community | None = None
    is_anonymous: bool = False
    public_acknowledgement: bool = False
    errors: list[RowError] = field(default_factory=list)

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))


@dataclass
class ImportPreview:
    """Everything read from one uploaded statement; importable only when no row has an error."""

    fund: Fund
    filename: str
    digest: str
    columns: list[str]
    rows: list[StatementRow]

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    @property
    def error_lines(self) -> list[int]:
        return [row.line for row in self.rows if row.errors]

    @property
    def is_importable(self) -> bool:
        return bool(self.rows) and not self.errors

    @property
    def total(self) -> Decimal:
        return sum((row.amount for row in self.rows if row.amount is not None), Decimal("0.00"))


def content_digest(content: bytes) -> str:
    """The SHA-256 of an uploaded file: identifies it between preview and confirmation."""
    return hashlib.sha256(content).hexdigest()


def statement_import_denial(user: AbstractBaseUser | AnonymousUser, fund: Fund) -> str | None:
    """Why the person may not import bank statements into the fund, or None when they may (its finance)."""
    if not holds_foundation_role(user, Role.FINANCE, fund.foundation_id):
        return _("Only finance staff of the foundation may import bank statements.")
    return None


# --- Reading the file ---------------------------------------------------------------------------------------


def _unreadable(message: str, code: str = "unreadable_file") -> ApplicationError:
    return ApplicationError(message, code=code, field="file")


def _decode_csv(content: bytes) -> str:
    """The text of a CSV in UTF-8 (with or without BOM) or GB18030, as Chinese banks export it."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in content:
        raise _unreadable(_("This CSV file is not in UTF-8 or GB18030. Save it as “CSV UTF-8” or as .xlsx."),
                          "unsupported_encoding")
    if content.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _unreadable(_("This CSV file is not in UTF-8 or GB18030. Save it as “CSV UTF-8” or as .xlsx."),
                      "unsupported_encoding")


def _csv_records(content: bytes) -> Iterator[list[Any]]:
    text = _decode_csv(content)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise _unreadable(_("The CSV file cannot be read: %(reason)s") % {"reason": exc}) from exc


def _xlsx_records(content: bytes) -> Iterator[list[Any]]:
    import openpyxl  # a heavy import, needed only for this

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise _unreadable(_("This is not a valid .xlsx file. Open it in Excel or WPS and save it again.")) from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise _unreadable(_("This .xlsx file is too large once unpacked."), "file_too_large")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors for a damaged file
        raise _unreadable(_("This is not a valid .xlsx file. Open it in Excel or WPS and save it again.")) from exc
    try:
        # The first sheet, row by row from line 1: read-only mode fills in empty rows, so lines match Excel's.
        rows = workbook.worksheets[0].iter_rows(min_row=1, values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # damaged sheet XML surfaces only while reading
                raise _unreadable(_("This is not a valid .xlsx file. Open it in Excel or WPS and save it again.")
                                  ) from exc
            yield list(row)
    finally:
        workbook.close()


def _records(filename: str, content: bytes) -> Iterator[list[Any]]:
    name = filename.lower()
    if name.endswith(".csv"):
        return _csv_records(content)
    if name.endswith(".xlsx"):
        return _xlsx_records(content)
    if name.endswith(".xls"):
        raise _unreadable(_("Old .xls files cannot be read. Save the statement as .xlsx or CSV."),
                          "unsupported_format")
    raise _unreadable(_("Upload the statement as a .csv or .xlsx file."), "unsupported_format")


def _header(cells: list[Any]) -> dict[str, int]:
    """Which column of the file holds which field; refuses a header that lacks a required one."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = HEADER_KEYS.get(_header_key(cell))
        if key is None:
            continue  # banks add columns of their own (balance, account...): they are ignored
        if key in positions:
            raise _unreadable(_("Line 1 has the column “%(column)s” twice.") % {"column": COLUMN_LABELS[key]},
                              "invalid_header")
        positions[key] = index
    missing = [column.label for column in COLUMNS if column.required and column.key not in positions]
    if missing:
        raise _unreadable(
            _("Line 1 must name the columns. Missing: %(missing)s.") % {"missing": ", ".join(missing)},
            "invalid_header")
    return positions


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):  # an XLSX date cell comes as a datetime at midnight
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- Checking values ----------------------------------------------------------------------------------------


def parse_date(value: Any, *, today: dt.date) -> dt.date:
    """A statement date: a date cell, or text such as 2026-11-20, 2026/11/20, 2026年11月20日 or 20261120."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = unicodedata.normalize("NFKC", _display(value))
        if not text:
            raise ValueError(_("The date is missing."))
        match = DATE_RE.fullmatch(text) or COMPACT_DATE_RE.fullmatch(text)
        if match is None:
            raise ValueError(_("“%(value)s” is not a date; write it as 2026-11-20.") % {"value": text})
        try:
            day = dt.date(*(int(part) for part in match.groups()[:3]))
        except ValueError:
            raise ValueError(_("“%(value)s” is not a date of the calendar.") % {"value": text}) from None
    if day > today:
        raise ValueError(_("The date %(date)s is in the future.") % {"date": day.isoformat()})
    return day


def parse_amount(value: Any) -> Decimal:
    """An amount in yuan: more than zero, at most two decimals, as a number cell or text (1,000.00 and ¥ allowed)."""
    if isinstance(value, bool):
        raise ValueError(_("“%(value)s” is not an amount in yuan.") % {"value": value})
    if isinstance(value, float):
        amount = Decimal(repr(value))
        # A spreadsheet's binary fraction (0.1 + 0.2 = 0.30000000000000004) is a cent amount in disguise.
        if amount.is_finite() and abs(amount) <= MAX_AMOUNT and abs(amount - amount.quantize(CENT)) < Decimal("1e-9"):
            amount = amount.quantize(CENT)
    elif isinstance(value, int | Decimal):
        amount = Decimal(value)
    else:
        text = unicodedata.normalize("NFKC", _display(value)).replace(" ", "")
        text = text.removeprefix("¥").removesuffix("元")
        if not text:
            raise ValueError(_("The amount is missing."))
        if THOUSANDS_RE.fullmatch(text):
            text = text.replace(",", "")
        if not NUMBER_RE.fullmatch(text):
            raise ValueError(_("“%(value)s” is not an amount in yuan.") % {"value": _display(value)})
        amount = Decimal(text)
    if not amount.is_finite():
        raise ValueError(_("“%(value)s” is not an amount in yuan.") % {"value": _display(value)})
    if amount <= 0:
        raise ValueError(_("The amount must be more than zero (payments out and reversals are not donations)."))
    # Before quantize(), which fails on numbers beyond the decimal context's precision.
    if amount > MAX_AMOUNT:
        raise ValueError(_("The amount is too large."))
    if amount != amount.quantize(CENT):
        raise ValueError(_("Amounts are in yuan with at most two decimals (fen)."))
    return amount.quantize(CENT)


def parse_yes_no(value: Any) -> bool:
    """是/否, yes/no, true/false or 1/0; empty means no."""
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", _display(value)).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(_("Write 是 or 否 (yes or no), not “%(value)s”.") % {"value": _display(value)})


class RestrictionLookup:
    """Resolves the restriction columns against the fund's categories and the communities, loaded once."""

    def __init__(self, fund: Fund, community_names: set[str]) -> None:
        self.categories: dict[str, ServiceCategory] = {}
        # Codes first, then Chinese and English names: a code is what a system writes, a name what people do.
        categories = list(ServiceCategory.objects.filter(fund=fund))
        for key in ("code", "name", "name_en"):
            for category in categories:
                name = getattr(category, key)
                if name:
                    self.categories.setdefault(name.casefold(), category)
        plain = {name.rsplit("/", 1)[-1].strip() for name in community_names}
        self.communities: dict[str, list[Community]] = {}
        for community in Community.objects.filter(name__in=plain).select_related("street_office"):
            self.communities.setdefault(community.name, []).append(community)

    def category(self, text: str) -> ServiceCategory:
        category = self.categories.get(text.casefold())
        if category is None:
            raise ValueError(_("The fund has no service category “%(value)s”.") % {"value": text})
        return category

    def community(self, text: str) -> Community:
        street, _slash, name = text.rpartition("/")
        found = [c for c in self.communities.get(name.strip(), [])
                 if not street or c.street_office.name == street.strip()]
        if not found:
            raise ValueError(_("There is no community “%(value)s”.") % {"value": text})
        if len(found) > 1:
            raise ValueError(_("Several communities are called “%(value)s”; write it as street office/community, "
                               "e.g. %(example)s.") % {"value": text,
                                                       "example": f"{found[0].street_office.name}/{name.strip()}"})
        return found[0]


def _check_row(row: StatementRow, cells: dict[str, Any], *, today: dt.date, restrictions: RestrictionLookup) -> None:
    """Read every column of one row, noting each problem on the row (all of them, not just the first)."""
    try:
        row.received_on = parse_date(cells.get("date"), today=today)
    except ValueError as exc:
        row.error("date", str(exc))
    try:
        row.amount = parse_amount(cells.get("amount"))
    except ValueError as exc:
        row.error("amount", str(exc))
    row.payer, row.memo = row.raw.get("payer", ""), row.raw.get("memo", "")
    row.bank_reference = row.raw.get("bank_reference", "")
    if not row.bank_reference:
        row.error("bank_reference", _("The bank reference is missing."))
    for key, limit in LENGTHS.items():
        if len(getattr(row, key)) > limit:
            row.error(key, _("At most %(limit)d characters.") % {"limit": limit})
    for key, attribute in (("anonymous", "is_anonymous"), ("public_acknowledgement", "public_acknowledgement")):
        try:
            setattr(row, attribute, parse_yes_no(cells.get(key)))
        except ValueError as exc:
            row.error(key, str(exc))
    if row.is_anonymous and row.public_acknowledgement:
        row.error("public_acknowledgement", _("An anonymous donor cannot also be thanked by name."))
    for key, resolve in (("restricted_category", restrictions.category),
                         ("restricted_community", restrictions.community)):
        if row.raw.get(key):
            try:
                setattr(row, key, resolve(row.raw[key]))
            except ValueError as exc:
                row.error(key, str(exc))


def _recorded_references(fund: Fund, references: list[str]) -> set[str]:
    """Which of the bank references the fund has already recorded (in chunks: databases cap parameters)."""
    recorded: set[str] = set()
    for start in range(0, len(references), 500):
        recorded.update(Donation.objects.filter(fund=fund, bank_reference__in=references[start:start + 500])
                        .values_list("bank_reference", flat=True))
    return recorded


def _check_references(fund: Fund, rows: list[StatementRow]) -> None:
    first_line: dict[str, int] = {}
    for row in rows:
        if not row.bank_reference:
            continue
        if row.bank_reference in first_line:
            row.error("bank_reference", _("The bank reference %(ref)s is also on line %(line)d of this file.")
                      % {"ref": row.bank_reference, "line": first_line[row.bank_reference]})
        else:
            first_line[row.bank_reference] = row.line
    recorded = _recorded_references(fund, list(first_line))
    for row in rows:
        if row.bank_reference in recorded:
            row.error("bank_reference", _("The bank reference %(ref)s has already been recorded for this fund.")
                      % {"ref": row.bank_reference})


def bank_statement_parse(*, fund: Fund, filename: str, content: bytes) -> ImportPreview:
    """Read a bank statement and check every row, without writing anything.

    1. Refuse a file that is too large, of another format or encoding, without the header on line 1,
       without rows or with too many of them (ApplicationError on the field `file`).
    2. Check each row's date, amount, bank reference, restrictions and yes/no columns, noting every problem
       with the spreadsheet's own line number (the header is line 1).
    3. Check bank references against each other and against those the fund has already recorded.
    """
    if len(content) > MAX_BYTES:
        raise _unreadable(_("The file is larger than %(size)d MB.") % {"size": MAX_BYTES // (1024 * 1024)},
                          "file_too_large")
    if not content:
        raise _unreadable(_("The file is empty."), "empty_file")
    pending: list[tuple[int, dict[str, Any]]] = []
    with contextlib.closing(_records(filename, content)) as records:
        header = next(records, None)
        if header is None:
            raise _unreadable(_("The file is empty."), "empty_file")
        positions = _header(header)
        for line, record in enumerate(records, start=2):
            cells = {key: record[index] if index < len(record) else None for key, index in positions.items()}
            if all(_display(value) == "" for value in cells.values()):
                continue  # blank lines, often at the end of an export
            if len(pending) == MAX_ROWS:
                raise _unreadable(_("The file has more than %(max)d rows; split it into smaller files.")
                                  % {"max": MAX_ROWS}, "too_many_rows")
            pending.append((line, cells))
    if not pending:
        raise _unreadable(_("The file has a header but no rows."), "empty_file")
    restrictions = RestrictionLookup(fund, {_display(cells.get("restricted_community")) for _line, cells in pending
                                        if _display(cells.get("restricted_community"))})
    today = timezone.localdate()
    rows = []
    for line, cells in pending:
        row = StatementRow(line=line, raw={key: _display(value) for key, value in cells.items()})
        _check_row(row, cells, today=today, restrictions=restrictions)
        rows.append(row)
    _check_references(fund, rows)
    return ImportPreview(fund=fund, filename=filename, digest=content_digest(content),
                         columns=[column.key for column in COLUMNS if column.key in positions], rows=rows)


# --- Importing ----------------------------------------------------------------------------------------------


def bank_statement_import(*, actor: AbstractBaseUser, fund: Fund, preview: ImportPreview) -> list[Donation]:
    """Record every row of a checked statement as a received donation, in one transaction: all rows or none.

    1. Only finance of the fund's foundation, only a preview of this fund without errors.
    2. Lock the fund's balance (imports and other postings wait), then check the bank references again:
       another import may have recorded one since the preview.
    3. Record each row through `donation_record`; any refusal rolls back every row, naming its line.
    """
    denial = statement_import_denial(actor, fund)
    if denial:
        raise ActionForbidden(denial, code="forbidden")
    if preview.fund.pk != fund.pk:
        raise ApplicationError(_("This statement was checked for another fund."), code="wrong_fund")
    if not preview.is_importable:
        raise ApplicationError(_("The file has errors on lines %(lines)s; nothing was imported.")
                               % {"lines": ", ".join(str(line) for line in preview.error_lines)},
                               code="import_has_errors", field="file")
    donations = []
    with transaction.atomic():
        lock_balance(fund)
        recorded = _recorded_references(fund, [row.bank_reference for row in preview.rows])
        if recorded:
            lines = [str(row.line) for row in preview.rows if row.bank_reference in recorded]
            raise ApplicationConflict(_("Bank references on lines %(lines)s were recorded in the meantime; "
                                        "nothing was imported. Upload the file again.") % {"lines": ", ".join(lines)},
                                      code="duplicate_bank_reference", field="file")
        for row in preview.rows:
            try:
                donations.append(donation_record(
                    actor=actor, fund=fund, amount=row.amount, donor_name=row.payer, is_anonymous=row.is_anonymous,
                    public_acknowledgement=row.public_acknowledgement, restricted_category=row.restricted_category,
                    restricted_community=row.restricted_community, purpose=row.memo, received_on=row.received_on,
                    bank_reference=row.bank_reference, source=Donation.Source.BANK_IMPORT))
            except ApplicationError as exc:
                raise type(exc)(_("Line %(line)d: %(message)s Nothing was imported.")
                                % {"line": row.line, "message": exc.message}, code=exc.code, field="file") from exc
            except ValidationError as exc:
                raise ApplicationError(_("Line %(line)d: %(message)s Nothing was imported.")
                                       % {"line": row.line, "message": " ".join(exc.messages)},
                                       code="invalid_row", field="file") from exc
    return donations


__all__ = [
    "COLUMNS", "MAX_BYTES", "MAX_ROWS", "ImportPreview", "RestrictionLookup", "RowError", "StatementRow",
    "bank_statement_import",
    "bank_statement_parse", "content_digest", "parse_amount", "parse_date", "parse_yes_no",
    "statement_import_denial",
]
