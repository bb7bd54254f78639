"""grants.services.attachment_add: the content decides, the limits hold, and a refusal stores nothing.

Each refusal is checked three ways: its code, its translated message (built with the same gettext call, so
the test still holds once the messages are translated), and the storage folder and table left as they were.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext as _
from PIL import Image

from grants import attachments, services
from grants.errors import ActionForbidden, ApplicationError
from grants.models import Attachment
from grants.states import State
from tests.helpers import advance

from .conftest import (
    ELF,
    MIB,
    MZ,
    docx_bomb,
    docx_bytes,
    docx_lying_about_sizes,
    docx_truncated,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    png_declaring,
    stored_files,
    upload,
    xlsx_bytes,
)

STORED_NAME = re.compile(r"^applications/\d+/\d{6}/[0-9a-f]{32}\.(pdf|jpg|png|xlsx|docx)$")


@pytest.fixture
def application(make_application):
    return make_application()


def add(cast, application, file, kind: str = "other") -> Attachment:
    return services.attachment_add(actor=cast.applicant, application=application, kind=kind, file=file)


def refused(cast, application, file, code: str, kind: str = "other", actor=None) -> ApplicationError:
    """Expect a refusal with `code` that leaves no new row and no new file behind."""
    rows, files = Attachment.objects.count(), stored_files()
    with pytest.raises(ApplicationError) as caught:
        services.attachment_add(actor=actor or cast.applicant, application=application, kind=kind, file=file)
    assert caught.value.code == code, caught.value.message
    assert (Attachment.objects.count(), stored_files()) == (rows, files)
    return caught.value


# --- Accepted: the five types, stored under safe names with the detected type --------------------------------


@pytest.mark.parametrize(("name", "content", "content_type", "extension", "thumbnail"), [
    ("预算明细.pdf", pdf_bytes(), "application/pdf", "pdf", None),
    ("活动照片.JPG", jpeg_bytes(), "image/jpeg", "jpg", "jpg"),
    ("签到表.png", png_bytes(), "image/png", "png", "png"),
    ("实际支出.xlsx", xlsx_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx",
     None),
    ("受益人签字.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "docx", None),
])
def test_each_allowed_type_is_accepted_and_stored_under_a_random_name(cast, application, name, content,
                                                                       content_type, extension, thumbnail):
    before = stored_files()
    attachment = add(cast, application, upload(name, content, content_type="application/octet-stream"))
    attachment.refresh_from_db()
    assert attachment.content_type == content_type  # detected, not the browser's "application/octet-stream"
    assert attachment.original_name == name.replace(".JPG", ".jpg")
    assert (attachment.size, attachment.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert STORED_NAME.match(attachment.file.name) and attachment.file.name.endswith(f".{extension}")
    with attachment.file.open("rb") as stored:
        assert stored.read() == content
    new = set(stored_files()) - set(before)
    if thumbnail is None:
        assert not attachment.thumbnail and new == {attachment.file.name}
    else:
        assert attachment.thumbnail.name.endswith(f".{thumbnail}")
        assert new == {attachment.file.name, attachment.thumbnail.name}


def test_image_thumbnails_fit_in_320_pixels_and_keep_the_shape(cast, application):
    photo = add(cast, application, upload("photo.jpg", jpeg_bytes((1600, 1200)), "image/jpeg"), kind="photo")
    scan = add(cast, application, upload("scan.png", png_bytes((300, 900)), "image/png"), kind="photo")
    with photo.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (320, 240))
    with scan.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert (thumb.format, thumb.size) == ("PNG", (107, 320))


def test_a_name_with_a_path_is_kept_only_as_its_last_part_and_never_reaches_storage(cast, application, tmp_path):
    for raw in ("../../etc/passwd.pdf", "..\\..\\Windows\\system32\\passwd.pdf", "/etc/passwd.pdf"):
        attachment = add(cast, application, File(io.BytesIO(pdf_bytes()), name=raw))
        assert attachment.original_name == "passwd.pdf"
        assert STORED_NAME.match(attachment.file.name)
        assert "passwd" not in attachment.file.name and ".." not in attachment.file.name
    media = Path(settings.MEDIA_ROOT)
    assert [path for path in tmp_path.rglob("*") if path.is_file() and media not in path.parents] == []


def test_control_and_bidi_characters_are_removed_and_long_names_shortened(cast, application):
    spoof = add(cast, application, upload("invoice\u202efdp.exe\x00\x07", pdf_bytes()))
    assert spoof.original_name == "invoicefdp.exe.pdf"  # the real type's extension, no hidden reversal
    long = add(cast, application, upload("说" * 300 + ".pdf", pdf_bytes()))
    assert len(long.original_name) == attachments.DISPLAY_NAME_MAX and long.original_name.endswith(".pdf")


def test_a_picture_named_pdf_is_stored_and_offered_as_the_picture_it_is(cast, application):
    attachment = add(cast, application, upload("receipt.pdf", png_bytes(), "application/pdf"), kind="receipt")
    assert (attachment.content_type, attachment.original_name) == ("image/png", "receipt.pdf.png")
    assert attachment.file.name.endswith(".png")


# --- Refused: wrong content, limits, bombs ---------------------------------------------------------------


@pytest.mark.parametrize(("content", "what"), [
    (ELF, "ELF executable"), (MZ, "Windows executable"), (b"<html><script>alert(1)</script></html>", "web page"),
    (b"GIF89a" + b"\0" * 40, "GIF image"), (b"PK\x05\x06" + b"\0" * 18, "empty zip"),
])
def test_a_renamed_file_of_another_type_is_refused_by_its_content(cast, application, content, what):
    error = refused(cast, application, upload("report.pdf", content, "application/pdf"), "file_type_not_allowed")
    assert error.field == "file"
    assert error.message == _("%(name)s is not a PDF, JPEG, PNG, XLSX or DOCX file. The type is decided by what "
                              "the file contains, not by its name.") % {"name": "report.pdf"}, what


def test_an_empty_file_is_refused(cast, application):
    error = refused(cast, application, upload("empty.pdf", b""), "file_empty")
    assert error.message == _("The file %(name)s is empty.") % {"name": "empty.pdf"}


def test_a_file_above_the_per_file_limit_is_refused_naming_the_limit_in_mb(cast, application, settings):
    settings.ATTACHMENT_MAX_BYTES = MIB
    big = pdf_bytes(padding=2 * MIB)
    error = refused(cast, application, upload("big.pdf", big), "file_too_large")
    assert error.message == _("The file %(name)s is %(size)s MB; a document may be at most %(limit)s MB.") % {
        "name": "big.pdf", "size": attachments.megabytes(len(big)), "limit": "1"}
    assert attachments.megabytes(len(big)) == "2.01"
    one_byte_over = pdf_bytes(padding=MIB + 1 - len(pdf_bytes()))
    assert "1.01 MB" in refused(cast, application, upload("over.pdf", one_byte_over), "file_too_large").message
    add(cast, application, upload("just-fits.pdf", pdf_bytes(padding=MIB - len(pdf_bytes()))))


def test_the_documents_of_one_application_stay_within_the_total(cast, make_application, settings):
    application = make_application()
    used = application.attachments.get().size  # the application form the factory attached
    settings.ATTACHMENT_MAX_TOTAL_BYTES = used + 3 * MIB
    first = add(cast, application, upload("first.pdf", pdf_bytes(padding=2 * MIB)))
    second = pdf_bytes(padding=MIB)
    error = refused(cast, application, upload("second.pdf", second), "attachments_too_large")
    assert error.message == _(
        "The documents of one application may take at most %(limit)s MB together; %(used)s MB are used "
        "and %(name)s needs %(size)s MB.") % {
        "limit": attachments.megabytes(used + 3 * MIB), "used": attachments.megabytes(used + first.size),
        "name": "second.pdf", "size": attachments.megabytes(len(second))}
    # Another application has an allowance of its own.
    add(cast, make_application(), upload("second.pdf", second))


@pytest.mark.parametrize(("width", "height"), [(20000, 20000), (7000, 7000), (1, 50_000_000)])
def test_an_image_bomb_is_refused_before_its_pixels_are_decoded(cast, application, width, height):
    bomb = png_declaring(width, height)
    assert len(bomb) < 200
    error = refused(cast, application, upload("photo.png", bomb, "image/png"), "image_too_large", kind="photo")
    assert error.message == _("The image %(name)s has too many pixels to be opened safely; an image may have at "
                              "most %(limit)s million pixels.") % {"name": "photo.png", "limit": 40}


def test_a_damaged_image_is_refused(cast, application):
    truncated = jpeg_bytes((800, 600))[:1500]
    error = refused(cast, application, upload("photo.jpg", truncated, "image/jpeg"), "image_damaged", kind="photo")
    assert error.message == _("The image %(name)s is damaged and cannot be opened.") % {"name": "photo.jpg"}
    broken_png = bytearray(png_bytes())
    broken_png[40] ^= 0xFF  # inside the pixel data: the chunk's CRC no longer matches
    refused(cast, application, upload("scan.png", bytes(broken_png), "image/png"), "image_damaged", kind="photo")


def _archive_message(name: str, reason: str) -> str:
    return _("%(name)s cannot be accepted as a Word or Excel file: %(reason)s") % {"name": name, "reason": reason}


def test_a_zip_bomb_disguised_as_docx_is_refused_without_unpacking_it(cast, application):
    bomb = docx_bomb(unpacked_mib=attachments.ZIP_MAX_UNPACKED_BYTES // MIB + 1)
    assert len(bomb) < MIB
    error = refused(cast, application, upload("签字表.docx", bomb), "archive_unsafe")
    assert error.message == _archive_message("签字表.docx", _("it would unpack to more than %(limit)s MB.") % {
        "limit": "100"})


@pytest.mark.parametrize(("content", "reason"), [
    (docx_bytes(extra={"../../evil.sh": b"#!/bin/sh"}), "a part is named with a path outside the document."),
    (docx_bytes(extra={"/etc/cron.d/evil": b"* * * * * root sh"}), "a part is named with a path outside the document."),
    (docx_bytes(extra={"word\\..\\..\\evil.bat": b"@echo off"}), "a part is named with a path outside the document."),
    (docx_bytes(extra={"word/vbaProject.bin": b"\0" * 10}), "it contains macros."),
    (docx_lying_about_sizes(), "the file is damaged."),
    (docx_truncated(), "the file is damaged."),
])
def test_an_unsafe_or_damaged_office_package_is_refused(cast, application, content, reason):
    error = refused(cast, application, upload("report.docx", content), "archive_unsafe")
    assert error.message == _archive_message("report.docx", _(reason))


def test_a_package_with_too_many_parts_is_refused(cast, application, monkeypatch):
    monkeypatch.setattr(attachments, "ZIP_MAX_MEMBERS", 10)
    crowded = docx_bytes(extra={f"word/media/{n}.png": b"x" for n in range(10)})
    error = refused(cast, application, upload("report.docx", crowded), "archive_unsafe")
    assert error.message == _archive_message("report.docx", _("it holds more than %(limit)s parts.") % {"limit": 10})


@pytest.mark.parametrize("content", [
    docx_bytes(content_types=b"<Types/>"),  # no main document declared
    docx_bytes(extra={"xl/workbook.xml": b"<workbook/>"},  # claims to be both Word and Excel
               content_types=b"spreadsheetml.sheet.main+xml wordprocessingml.document.main+xml"),
])
def test_a_zip_that_is_not_a_word_or_excel_package_is_refused(cast, application, content):
    refused(cast, application, upload("report.docx", content), "file_type_not_allowed")


# --- Who may attach, and when ----------------------------------------------------------------------------


def test_people_without_the_right_are_refused_and_nothing_is_stored(cast, application):
    advance(application, State.STREET_REVIEW, cast)
    for person in (cast.street_reviewer, cast.auditor, cast.applicant_b, cast.finance):
        error = refused(cast, application, upload("x.pdf", pdf_bytes()), "forbidden", actor=person)
        assert isinstance(error, ActionForbidden)


def test_the_applicant_adds_report_documents_while_the_project_runs_and_after_its_report_is_returned(
        cast, make_application):
    running = advance(make_application(), State.IN_PROGRESS, cast)
    add(cast, running, upload("发票.jpg", jpeg_bytes(), "image/jpeg"), kind="receipt")
    returned = advance(make_application(), State.REPORT_RETURNED, cast)
    add(cast, returned, upload("签字表.pdf", pdf_bytes()), kind="beneficiary_signoff")
    add(cast, returned, upload("活动照片.png", png_bytes(), "image/png"), kind="photo")


def test_a_finished_application_takes_no_more_documents(cast, application):
    services.application_withdraw(actor=cast.applicant, application=application, reason="项目取消")
    refused(cast, application, upload("late.pdf", pdf_bytes()), "application_final")
