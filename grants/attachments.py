"""Uploaded documents judged by their content: allowed types, size limits, bombs, safe names and thumbnails.

Nothing here stores anything: `check_upload` reads an upload and either refuses it (ApplicationError on the
"file" field, with a translated message) or says what it is and what to store. The browser's file name and
declared content type decide nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re
import struct
import unicodedata
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from .errors import ApplicationError

MIB = 1024 * 1024
# Decoding an image costs memory by its pixels, not its file size: a tiny PNG may declare 20000 x 20000.
MAX_IMAGE_PIXELS = 40_000_000
THUMBNAIL_SIZE = (320, 320)
# An Office file is a ZIP: bound what unpacking it may cost before anyone (we, Word, Excel) does.
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_UNPACKED_BYTES = 100 * MIB
CONTENT_TYPES_MAX_BYTES = MIB
DISPLAY_NAME_MAX = 100
HEAD_BYTES = 16
CHUNK = 64 * 1024
# Characters Windows refuses in file names; replaced so that the download can be saved anywhere.
UNSAFE_NAME_CHARACTERS = re.compile(r'[<>:"|?*/\\]')


@dataclass(frozen=True)
class DocumentType:
    """One kind of file that may be attached, as recognised by its content."""

    label: str
    extension: str
    content_type: str
    name_extensions: frozenset[str]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


PDF = DocumentType("PDF", "pdf", "application/pdf", frozenset({"pdf"}))
JPEG = DocumentType("JPEG", "jpg", "image/jpeg", frozenset({"jpg", "jpeg"}))
PNG = DocumentType("PNG", "png", "image/png", frozenset({"png"}))
XLSX = DocumentType("XLSX", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    frozenset({"xlsx"}))
DOCX = DocumentType("DOCX", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    frozenset({"docx"}))
ALLOWED_TYPES = (PDF, JPEG, PNG, XLSX, DOCX)
ALLOWED_CONTENT_TYPES = frozenset(kind.content_type for kind in ALLOWED_TYPES)
# For the file picker only (a hint to the browser); the content decides.
ACCEPT = ",".join(f".{extension}" for kind in ALLOWED_TYPES for extension in sorted(kind.name_extensions))

# The main part an Office package declares in [Content_Types].xml, and the folder holding it.
OFFICE_MAIN_PARTS = (
    (XLSX, "xl/", b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    (DOCX, "word/", b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
)


@dataclass(frozen=True)
class CheckedDocument:
    """An upload that passed every check: what it is, its name for people, and what to store."""

    document_type: DocumentType
    display_name: str
    size: int
    sha256: str
    thumbnail: bytes | None = None

    def stored_name(self) -> str:
        """A random file name with the detected type's extension: nothing of the upload's name reaches storage."""
        return f"{uuid.uuid4().hex}.{self.document_type.extension}"

    def thumbnail_name(self) -> str:
        return f"{uuid.uuid4().hex}.{thumbnail_extension(self.document_type)}"


def thumbnail_extension(document_type: DocumentType) -> str:
    # Photos stay JPEG (small); PNGs stay PNG (transparency, sharp edges of scans and screenshots).
    return "jpg" if document_type == JPEG else "png"


THUMBNAIL_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


def megabytes(size: int) -> str:
    """A size in MB for messages, rounded up to 0.01: "10", "10.01" (one byte too many), never "0" for a file."""
    value = math.ceil(size * 100 / MIB) / 100
    return f"{value:.2f}".rstrip("0").rstrip(".")


def refused(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, field="file")


def display_name(raw: str | None, document_type: DocumentType | None = None) -> str:
    """The name shown and offered on download: no folders, no control or bidi characters, bounded length.

    With a document type, the name ends with one of its extensions (appended when it does not).
    """
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Category C: control characters, format characters such as U+202E (right-to-left override, which makes
    # "evil\u202efdp.exe" read as "evilexe.pdf"), private use and unassigned code points.
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C"))
    name = " ".join(UNSAFE_NAME_CHARACTERS.sub("_", name).split()).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if document_type is not None and extension.lower() not in document_type.name_extensions:
        stem, extension = name, document_type.extension
    suffix = f".{extension.lower()}" if extension else ""
    stem = stem[: DISPLAY_NAME_MAX - len(suffix)].strip(" .") or "document"
    return f"{stem}{suffix}"


def check_upload(file: File) -> CheckedDocument:
    """Read an upload and decide what it is by its content, or refuse it with a message naming the problem.

    1. Size: not empty, not above ATTACHMENT_MAX_BYTES (before reading anything).
    2. Type from the first bytes: PDF, JPEG, PNG or a ZIP; anything else is refused.
    3. Structure: images open, verify and decode within MAX_IMAGE_PIXELS (and give a thumbnail);
       a ZIP is a sane DOCX or XLSX package within the unpacking limits.
    """
    name = display_name(getattr(file, "name", ""))
    size = file.size or 0
    limit = settings.ATTACHMENT_MAX_BYTES
    if size <= 0:
        raise refused(_("The file %(name)s is empty.") % {"name": name}, "file_empty")
    if size > limit:
        raise _too_large(name, size, limit)
    head, sha256, size = _read_through(file, name, limit)
    document_type, thumbnail = _judge_content(file, head, name)
    file.seek(0)
    return CheckedDocument(document_type=document_type, display_name=display_name(name, document_type),
                           size=size, sha256=sha256, thumbnail=thumbnail)


def _too_large(name: str, size: int, limit: int) -> ApplicationError:
    return refused(_("The file %(name)s is %(size)s MB; a document may be at most %(limit)s MB.") % {
        "name": name, "size": megabytes(size), "limit": megabytes(limit)}, "file_too_large")


def _read_through(file: File, name: str, limit: int) -> tuple[bytes, str, int]:
    """The first bytes, the SHA-256 and the real size, read once; stops as soon as the size limit is passed."""
    file.seek(0)
    digest = hashlib.sha256()
    head = b""
    size = 0
    while chunk := file.read(CHUNK):
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_large(name, size, limit)
    if size == 0:
        raise refused(_("The file %(name)s is empty.") % {"name": name}, "file_empty")
    return head, digest.hexdigest(), size


def _not_allowed(name: str) -> ApplicationError:
    return refused(_("%(name)s is not a PDF, JPEG, PNG, XLSX or DOCX file. The type is decided by what the "
                     "file contains, not by its name.") % {"name": name}, "file_type_not_allowed")


def _judge_content(file: File, head: bytes, name: str) -> tuple[DocumentType, bytes | None]:
    if head.startswith(b"%PDF-"):
        return PDF, None
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG, _checked_image(file, JPEG, name)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG, _checked_image(file, PNG, name)
    if head.startswith(b"PK\x03\x04"):
        return _office_type(file, name), None
    raise _not_allowed(name)


# --- Images ------------------------------------------------------------------------------------------------


def _image_bomb(name: str) -> ApplicationError:
    return refused(_("The image %(name)s has too many pixels to be opened safely; an image may have at most "
                     "%(limit)s million pixels.") % {"name": name, "limit": MAX_IMAGE_PIXELS // 1_000_000},
                   "image_too_large")


def _checked_image(file: File, document_type: DocumentType, name: str) -> bytes:
    """Open, verify and decode the image (within the pixel limit); returns its thumbnail."""
    image_format = document_type.label
    try:
        file.seek(0)
        # Opening reads only the header: the declared size is known before any pixel is decoded.
        with Image.open(file, formats=[image_format]) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _image_bomb(name)
            image.verify()
        file.seek(0)
        with Image.open(file, formats=[image_format]) as image:
            if document_type == JPEG:
                # Decode at a reduced scale (JPEG's DCT allows it): every block is still read and checked,
                # for a fraction of the memory.
                image.draft("RGB", THUMBNAIL_SIZE)
            image.load()
            return _thumbnail(image, document_type)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _image_bomb(name) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error):
        raise refused(_("The image %(name)s is damaged and cannot be opened.") % {"name": name},
                      "image_damaged") from None


def _thumbnail(image: Image.Image, document_type: DocumentType) -> bytes:
    with contextlib.suppress(Exception):  # a damaged EXIF block costs only the rotation, not the upload
        image = ImageOps.exif_transpose(image)
    image.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    # Saved without the original's metadata: no camera details or GPS position in the thumbnail.
    if document_type == JPEG:
        image.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
    else:
        image.convert("RGBA").save(out, "PNG", optimize=True)
    return out.getvalue()


# --- Office packages (DOCX, XLSX) --------------------------------------------------------------------------


def _unsafe_archive(name: str, reason: str) -> ApplicationError:
    return refused(_("%(name)s cannot be accepted as a Word or Excel file: %(reason)s") % {
        "name": name, "reason": reason}, "archive_unsafe")


def _member_escapes(member: str) -> bool:
    """Whether a ZIP member name is absolute or climbs out of the package (zip slip)."""
    path = member.replace("\\", "/")
    return (not path or "\x00" in path or path.startswith("/") or re.match(r"^[A-Za-z]:", path) is not None
            or ".." in path.split("/"))


def _office_type(file: File, name: str) -> DocumentType:
    """The package's type (DOCX or XLSX) after checking it is a sane, macro-free package within the limits."""
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            members = _checked_members(archive, name)
            document_type = _package_type(archive, members, name)
            # Unpack every part once, within the limits checked above: a part that is damaged or bigger
            # than its header says (zipfile compares sizes and CRCs) is refused now, not in Word.
            for member in members:
                _drain(archive.open(member))
            return document_type
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError):
        raise _unsafe_archive(name, _("the file is damaged.")) from None


def _checked_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > ZIP_MAX_MEMBERS:
        raise _unsafe_archive(name, _("it holds more than %(limit)s parts.") % {"limit": ZIP_MAX_MEMBERS})
    seen: set[str] = set()
    unpacked = 0
    for member in members:
        if _member_escapes(member.filename):
            raise _unsafe_archive(name, _("a part is named with a path outside the document."))
        if member.filename in seen:
            raise _unsafe_archive(name, _("two parts have the same name."))
        if member.flag_bits & 0x1:
            raise _unsafe_archive(name, _("parts of it are encrypted."))
        seen.add(member.filename)
        unpacked += member.file_size
    if unpacked > ZIP_MAX_UNPACKED_BYTES:
        raise _unsafe_archive(name, _("it would unpack to more than %(limit)s MB.") % {
            "limit": megabytes(ZIP_MAX_UNPACKED_BYTES)})
    return members


def _package_type(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], name: str) -> DocumentType:
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names:
        raise _not_allowed(name)
    content_types = _drain(archive.open("[Content_Types].xml"), keep=CONTENT_TYPES_MAX_BYTES)
    found = [kind for kind, folder, main_part in OFFICE_MAIN_PARTS
             if main_part in content_types and any(member.startswith(folder) for member in names)]
    if len(found) != 1:
        raise _not_allowed(name)
    if any(member.lower().endswith("vbaproject.bin") for member in names):
        raise _unsafe_archive(name, _("it contains macros."))
    return found[0]


def _drain(stream: IO[bytes], *, keep: int = 0) -> bytes:
    """Read a ZIP part to its end (so its CRC is checked), keeping at most `keep` bytes of it."""
    kept = b""
    with stream:
        while chunk := stream.read(CHUNK):
            if len(kept) < keep:
                kept += chunk[: keep - len(kept)]
    return kept
