"""Files for the attachment tests, genuine and hostile, each built in memory in a few milliseconds.

The shared `_private_media` fixture (tests/conftest.py) points MEDIA_ROOT at a fresh temporary folder, so
`stored_files()` sees exactly what the test stored.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

MIB = 1024 * 1024

CONTENT_TYPES_DOCX = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    b"</Types>")
RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'officeDocument" Target="word/document.xml"/></Relationships>')
DOCUMENT_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>受益人签字表</w:t></w:r></w:p></w:body></w:document>").encode()


def pdf_bytes(padding: int = 0) -> bytes:
    """A small well-formed PDF (one empty page), optionally padded inside a comment to reach a size."""
    body = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n")
    return body + b"%" + b"x" * padding + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def jpeg_bytes(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (400, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (30, 120, 200, 128)).save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares width x height pixels (an image bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["预算科目", "金额"])
    sheet.append(["社工服务", 30000])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def docx_bytes(*, extra: dict[str, bytes] | None = None, content_types: bytes = CONTENT_TYPES_DOCX) -> bytes:
    """A minimal valid DOCX ([Content_Types].xml, the package relationships, word/document.xml) plus `extra`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", content_types)
        package.writestr("_rels/.rels", RELS)
        package.writestr("word/document.xml", DOCUMENT_XML)
        for name, data in (extra or {}).items():
            package.writestr(name, data)
    return out.getvalue()


def docx_bomb(unpacked_mib: int) -> bytes:
    """A DOCX with a part of `unpacked_mib` MiB of zeros: a few hundred KB that unpack without end."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES_DOCX)
        package.writestr("_rels/.rels", RELS)
        package.writestr("word/document.xml", DOCUMENT_XML)
        zeros = b"\0" * MIB
        with package.open("word/media/image1.png", "w", force_zip64=True) as part:
            for _ in range(unpacked_mib):
                part.write(zeros)
    return out.getvalue()


def docx_lying_about_sizes() -> bytes:
    """A DOCX whose directory says a part unpacks to 10 bytes while it really holds 1 MiB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES_DOCX)
        package.writestr("_rels/.rels", RELS)
        package.writestr("word/document.xml", DOCUMENT_XML)
        package.writestr("word/media/big.bin", b"\0" * MIB)
        package.getinfo("word/media/big.bin").file_size = 10  # written into the central directory on close
    return out.getvalue()


def docx_truncated() -> bytes:
    """A DOCX cut short, as by an interrupted download: its central directory is missing."""
    return docx_bytes()[:-40]


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\0" * 8 + b"\x02\x00\x3e\x00" + b"\0" * 200
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\0" * 48 + b"PE\0\0" + b"\0" * 200


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    """A browser upload; the declared content type is whatever the browser (or an attacker) says."""
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files() -> list[str]:
    """Every file in the private storage, relative to MEDIA_ROOT."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def browser(db) -> Callable[[Any], Client]:
    """A logged-in test client for a person."""
    def of(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return of
