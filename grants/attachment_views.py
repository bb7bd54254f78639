"""The documents of an application: upload, download and image previews, each checked against the person's scope."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .attachments import ALLOWED_CONTENT_TYPES, THUMBNAIL_CONTENT_TYPES
from .errors import ActionForbidden, ApplicationError
from .forms import AttachmentForm
from .models import Attachment
from .selectors import applications_visible_to
from .views import application_context, forbidden, render_page, visible_application


@login_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Add one document to the application (grants.services.attachment_add)."""
    application = visible_application(request.user, pk)
    form = AttachmentForm(request.POST, request.FILES, auto_id="id_doc_%s")
    if form.is_valid():
        try:
            services.attachment_add(actor=request.user, application=application, kind=form.cleaned_data["kind"],
                                    file=form.cleaned_data["file"])
        except ActionForbidden as exc:
            return forbidden(request, exc.message)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None,
                           ValidationError(exc.message, code=exc.code))
        else:
            messages.success(request, _("The document was added."))
            return redirect("application_detail", pk=pk)
    return render_page(request, "grants/application_detail.html",
                       application_context(request, application, attach_form=form), status=400)


def _visible_attachment(user: AbstractBaseUser, pk: int, *fields: str) -> Attachment:
    """The document if the person may see its application; otherwise 404, revealing nothing."""
    attachment = (Attachment.objects.filter(pk=pk, application__in=applications_visible_to(user))
                  .only(*fields).first())
    if attachment is None:
        raise Http404(_("No such document."))
    return attachment


def _private_file(stored: FieldFile, *, content_type: str, filename: str = "", cache: str) -> FileResponse:
    """A stored file as a response that a browser neither sniffs nor runs as a page of this site."""
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file of this document is missing.")) from None
    response = FileResponse(handle, as_attachment=bool(filename), filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = cache
    return response


def attachment_file(user: AbstractBaseUser, pk: int) -> FileResponse:
    """The document as a download under its original name, if the person may see it (pages and API); else 404."""
    attachment = _visible_attachment(user, pk, "file", "original_name", "content_type")
    # The type detected at upload; rows from before content checks get the neutral type.
    content_type = (attachment.content_type if attachment.content_type in ALLOWED_CONTENT_TYPES
                    else "application/octet-stream")
    return _private_file(attachment.file, content_type=content_type, filename=attachment.original_name,
                         cache="private, no-store")


@login_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """A document of an application the person may see, always as a download under its original name."""
    return attachment_file(request.user, pk)


@login_required
def attachment_thumbnail(request: HttpRequest, pk: int) -> FileResponse:
    """The small preview of an image document, shown inline to people who may see the application."""
    attachment = _visible_attachment(request.user, pk, "thumbnail")
    extension = attachment.thumbnail.name.rsplit(".", 1)[-1] if attachment.thumbnail else ""
    if extension not in THUMBNAIL_CONTENT_TYPES:
        raise Http404(_("This document has no preview."))
    return _private_file(attachment.thumbnail, content_type=THUMBNAIL_CONTENT_TYPES[extension],
                         cache="private, max-age=3600")
