"""The document pages through HTTP: uploading (refusals shown on the form, nothing stored), downloading and
previews only for people who may see the application, with the detected type and never sniffed.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _

from grants import attachments
from grants.models import Attachment, GrantApplication
from grants.states import State
from tests.helpers import advance
from tests.web.conftest import draft_data

from .conftest import ELF, MIB, MZ, docx_bomb, jpeg_bytes, pdf_bytes, png_bytes, png_declaring, stored_files, upload


def post_document(client, application, file, kind: str = "other"):
    return client.post(reverse("attachment_upload", args=[application.pk]), {"kind": kind, "file": file})


def file_errors(response) -> list[tuple[str, str]]:
    """(code, message) of each error on the upload form's file field."""
    return [(error.code, error.messages[0]) for error in response.context["attach_form"].errors.as_data()["file"]]


def assert_refused(client, application, file, code: str) -> str:
    """The upload is refused on its form with `code`; no row and no file is left. Returns the message."""
    rows, files = Attachment.objects.count(), stored_files()
    response = post_document(client, application, file)
    assert response.status_code == 400
    [(found, message)] = file_errors(response)
    assert found == code, message
    assert message in response.content.decode().replace("&#x27;", "'")
    assert (Attachment.objects.count(), stored_files()) == (rows, files)
    return message


@pytest.fixture
def application(make_application):
    return make_application()


@pytest.mark.parametrize("content", [ELF, MZ], ids=["elf", "mz"])
def test_a_renamed_executable_is_refused_on_the_page(browser, cast, application, content):
    message = assert_refused(browser(cast.applicant), application, upload("report.pdf", content),
                             "file_type_not_allowed")
    assert message == _("%(name)s is not a PDF, JPEG, PNG, XLSX or DOCX file. The type is decided by what the "
                        "file contains, not by its name.") % {"name": "report.pdf"}


def test_an_empty_file_is_refused_on_the_page(browser, cast, application):
    assert_refused(browser(cast.applicant), application, upload("empty.pdf", b""), "empty")  # Django's own check


def test_an_oversized_file_is_refused_on_the_page_naming_the_limit(browser, cast, application, settings):
    settings.ATTACHMENT_MAX_BYTES = 2 * MIB
    message = assert_refused(browser(cast.applicant), application, upload("big.pdf", pdf_bytes(3 * MIB)),
                             "file_too_large")
    assert "2 MB" in message
    page = browser(cast.applicant).get(reverse("application_detail", args=[application.pk])).content.decode()
    assert _("PDF, JPEG, PNG, XLSX or DOCX, at most %(limit)s MB.") % {"limit": "2"} in page


def test_an_image_bomb_is_refused_on_the_page(browser, cast, application):
    assert_refused(browser(cast.applicant), application, upload("photo.png", png_declaring(20000, 20000),
                                                                "image/png"), "image_too_large")


def test_a_zip_bomb_is_refused_on_the_page(browser, cast, application):
    bomb = docx_bomb(unpacked_mib=attachments.ZIP_MAX_UNPACKED_BYTES // MIB + 1)
    assert_refused(browser(cast.applicant), application, upload("report.docx", bomb), "archive_unsafe")


def test_the_per_application_total_is_enforced_on_the_page(browser, cast, application, settings):
    settings.ATTACHMENT_MAX_TOTAL_BYTES = application.attachments.get().size + MIB
    assert_refused(browser(cast.applicant), application, upload("more.pdf", pdf_bytes(MIB)), "attachments_too_large")


def test_a_path_in_the_name_is_dropped_and_the_file_stored_under_a_safe_name(browser, cast, application):
    response = post_document(browser(cast.applicant), application,
                             upload("..\\..\\etc\\passwd.pdf", pdf_bytes()), kind="budget_detail")
    assert response.status_code == 302
    attachment = application.attachments.get(kind="budget_detail")
    assert attachment.original_name == "passwd.pdf"
    assert "passwd" not in attachment.file.name and ".." not in attachment.file.name


def test_one_bad_document_in_the_new_application_form_stores_nothing(browser, cast):
    data = draft_data(cast)
    data.update({"documents-TOTAL_FORMS": "2", "documents-1-kind": "budget_detail",
                 "documents-1-file": upload("预算.xlsx", MZ)})
    applications, files = GrantApplication.objects.count(), stored_files()
    response = browser(cast.applicant).post(reverse("application_create"), data)
    assert response.status_code == 400
    assert response.context["documents"].forms[1].errors.as_data()["file"][0].code == "file_type_not_allowed"
    assert (GrantApplication.objects.count(), stored_files()) == (applications, files)


# --- Download and preview ----------------------------------------------------------------------------------


@pytest.fixture
def photo(browser, cast, application) -> Attachment:
    """A photo the applicant uploaded, declared by the browser as a web page; the application under review."""
    response = post_document(browser(cast.applicant), application,
                             upload("活动照片.png", png_bytes((900, 600)), "text/html"), kind="photo")
    assert response.status_code == 302
    advance(application, State.STREET_REVIEW, cast)
    return application.attachments.get(kind="photo")


def test_people_in_scope_download_the_document_as_its_detected_type(browser, cast, photo):
    url = reverse("attachment_download", args=[photo.pk])
    for person in (cast.applicant, cast.community_head, cast.street_reviewer, cast.street_leader,
                   cast.programme_officer, cast.secretary_general, cast.auditor):
        response = browser(person).get(url)
        assert response.status_code == 200, person
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert b"".join(response.streaming_content) == photo.file.open("rb").read()


@pytest.mark.parametrize("route", ["attachment_download", "attachment_thumbnail"])
def test_people_of_another_community_or_street_get_404(browser, cast, photo, route):
    url = reverse(route, args=[photo.pk])
    for person in (cast.applicant_b, cast.other_street_reviewer, cast.outsider):
        assert browser(person).get(url).status_code == 404, person
    assert browser(cast.street_reviewer).get(reverse(route, args=[photo.pk + 1000])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, cast, photo):
    for route in ("attachment_download", "attachment_thumbnail"):
        response = client.get(reverse(route, args=[photo.pk]))
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_application_page_shows_a_preview_of_each_image(browser, cast, photo, application):
    page = browser(cast.street_reviewer).get(reverse("application_detail", args=[application.pk]))
    text = page.content.decode()
    thumbnail_url = reverse("attachment_thumbnail", args=[photo.pk])
    assert f'src="{thumbnail_url}"' in text
    form_pdf = application.attachments.get(kind="application_form")
    assert reverse("attachment_thumbnail", args=[form_pdf.pk]) not in text  # PDFs have no preview
    preview = browser(cast.street_reviewer).get(thumbnail_url)
    assert (preview.status_code, preview["Content-Type"]) == (200, "image/png")
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert not preview["Content-Disposition"].startswith("attachment")
    assert browser(cast.street_reviewer).get(
        reverse("attachment_thumbnail", args=[form_pdf.pk])).status_code == 404


def test_a_jpeg_preview_is_a_jpeg(browser, cast, application):
    post_document(browser(cast.applicant), application, upload("发票.jpeg", jpeg_bytes(), "image/jpeg"))
    receipt = application.attachments.get(kind="other")
    response = browser(cast.applicant).get(reverse("attachment_thumbnail", args=[receipt.pk]))
    assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg")


def test_a_row_stored_before_content_checks_is_served_as_plain_bytes(browser, cast, application):
    Attachment.objects.filter(application=application).update(content_type="text/html")
    response = browser(cast.applicant).get(reverse("attachment_download",
                                                   args=[application.attachments.get().pk]))
    assert response["Content-Type"] == "application/octet-stream"
