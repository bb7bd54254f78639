"""Fixtures of the document tests: the CJK font, and reading text and fonts back out of a PDF.

A test that prints needs the CJK font (settings.PDF_FONT_PATH, installed by `python3.11 run.py setup`).
Without it the test skips on a developer's machine and fails with CI=true: CI must print real Chinese.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def pdf_font(settings) -> Path:
    """The configured CJK font file; skip (or, in CI, fail) with the reason when it is missing."""
    path = Path(settings.PDF_FONT_PATH)
    if not path.is_file():
        reason = (f"the CJK font for PDFs is missing ({path}): run `python3.11 run.py setup` as root, or "
                  "`apt-get install fonts-wqy-microhei`, or set PDF_FONT_PATH")
        if in_ci():
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@dataclass(frozen=True)
class PdfFont:
    """A font a PDF's pages use, as its resources declare it."""

    base_font: str
    subtype: str
    embedded: bool  # the font program is in the file (FontFile2 for TrueType)


def pdf_text(content: bytes) -> str:
    """The text of every page, as a reader (or a search engine) extracts it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def pdf_fonts(content: bytes) -> set[PdfFont]:
    """Every font in the resources of every page."""
    found = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            found.add(PdfFont(str(font["/BaseFont"]), str(font["/Subtype"]), embedded))
    return found


def compact(text: str) -> str:
    """Text without whitespace: a line may break inside a Chinese phrase."""
    return "".join(text.split())
