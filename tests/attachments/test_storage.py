"""Attachments live in private storage: no URL serves the folder, and it cannot be put inside the static root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from grants.models import Attachment

from .conftest import pdf_bytes, upload


def test_no_url_but_the_checked_view_serves_a_stored_file(browser, cast, make_application):
    application = make_application()
    attachment: Attachment = application.attachments.get()
    assert Path(attachment.file.path).is_relative_to(Path(settings.MEDIA_ROOT))
    client = browser(cast.applicant)
    name = attachment.file.name
    for guess in (attachment.file.url, f"/{name}", f"/media/{name}", f"/static/{name}", f"/static/../media/{name}"):
        assert client.get(guess).status_code == 404, guess
    assert client.get(reverse("attachment_download", args=[attachment.pk])).status_code == 200


def test_settings_refuse_a_media_root_inside_the_static_root(tmp_path):
    env = {**os.environ, "DEBUG": "true", "STATIC_ROOT": str(tmp_path / "static"),
           "MEDIA_ROOT": str(tmp_path / "static" / "media")}
    result = subprocess.run([sys.executable, "-c", "import config.settings"], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "MEDIA_ROOT and STATIC_ROOT must be separate folders" in result.stderr


def test_the_upload_form_names_the_allowed_types_to_the_file_picker(browser, cast, make_application):
    application = make_application()
    page = browser(cast.applicant).get(reverse("application_detail", args=[application.pk])).content.decode()
    assert 'accept=".pdf,.jpeg,.jpg,.png,.xlsx,.docx"' in page
    # The picker is only a hint: the content decides (see test_service_attachment_add).
    response = browser(cast.applicant).post(reverse("attachment_upload", args=[application.pk]),
                                            {"kind": "other", "file": upload("scan", pdf_bytes())})
    assert response.status_code == 302
    assert application.attachments.get(kind="other").original_name == "scan.pdf"
