"""Use cases of the applying community: drafting and editing an application, documents, declarations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _

from ..attachments import check_upload, megabytes
from ..errors import ActionForbidden, ApplicationError
from ..models import (
    Attachment,
    BeneficiaryGroup,
    BudgetLine,
    Community,
    ConflictDeclaration,
    GrantApplication,
    Role,
    ServiceCategory,
)
from ..permissions import holds_role, is_member_of_applicant, role_keys
from ..states import FINAL_STATES, Scope
from .transitions import require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class BudgetLineData:
    """One budget line as entered by the applicant."""

    category: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class BeneficiaryData:
    """How many people of one kind the project will serve."""

    kind: str
    planned_count: int


def _ensure_applicant(actor: AbstractBaseUser, community: Community) -> None:
    if (Role.APPLICANT.value, Scope.COMMUNITY.value, community.pk) not in role_keys(actor):
        raise ActionForbidden(_("Only an applicant of %(community)s may do this.") % {"community": community},
                              code="forbidden")


def _replace_lines(application: GrantApplication, budget_lines: Sequence[BudgetLineData],
                   beneficiaries: Sequence[BeneficiaryData]) -> None:
    application.budget_lines.all().delete()
    application.beneficiary_groups.all().delete()
    lines = [BudgetLine(application=application, category=line.category, description=line.description,
                        amount=Decimal(line.amount), position=n) for n, line in enumerate(budget_lines)]
    groups = [BeneficiaryGroup(application=application, kind=group.kind, planned_count=group.planned_count)
              for group in beneficiaries]
    for obj in (*lines, *groups):
        obj.full_clean(exclude=["application"])
    if len({group.kind for group in groups}) != len(groups):
        raise ValidationError({"beneficiaries": _("Each kind of beneficiary may appear only once.")})
    BudgetLine.objects.bulk_create(lines)
    BeneficiaryGroup.objects.bulk_create(groups)


@transaction.atomic
def application_create(
    *,
    actor: AbstractBaseUser,
    community: Community,
    category: ServiceCategory,
    title: str,
    summary: str,
    start_date: dt.date,
    end_date: dt.date,
    requested_amount: Decimal,
    budget_lines: Sequence[BudgetLineData] = (),
    beneficiaries: Sequence[BeneficiaryData] = (),
) -> GrantApplication:
    """An applicant starts a draft for their community, with its budget lines and beneficiaries."""
    _ensure_applicant(actor, community)
    if not category.is_active:
        raise ApplicationError(_("The category “%(category)s” is not open for applications.")
                               % {"category": category}, code="category_closed", field="category")
    application = GrantApplication(
        fund=category.fund, community=community, category=category, title=title, summary=summary,
        start_date=start_date, end_date=end_date, requested_amount=requested_amount, created_by=actor)
    application.full_clean()
    application.save()
    _replace_lines(application, budget_lines, beneficiaries)
    return application


# Fields an applicant may change while the application is editable.
EDITABLE_FIELDS = frozenset({"category", "title", "summary", "start_date", "end_date", "requested_amount"})


@transaction.atomic
def application_update(
    *,
    actor: AbstractBaseUser,
    application: GrantApplication,
    budget_lines: Sequence[BudgetLineData] | None = None,
    beneficiaries: Sequence[BeneficiaryData] | None = None,
    **changes: object,
) -> GrantApplication:
    """The applicant edits a draft or a returned application (never one under review)."""
    _ensure_applicant(actor, application.community)
    if not application.is_editable:
        raise ApplicationError(_("Only a draft or an application returned for revision can be edited."),
                               code="not_editable")
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ApplicationError(_("These fields cannot be changed: %(fields)s") % {"fields": ", ".join(unknown)},
                               code="field_not_editable", field=sorted(unknown)[0])
    for name, value in changes.items():
        setattr(application, name, value)
    try:
        application.full_clean()
        application.save(update_fields=[*changes, "updated_at"])
        if budget_lines is not None or beneficiaries is not None:
            _replace_lines(
                application,
                budget_lines if budget_lines is not None else [
                    BudgetLineData(line.category, line.description, line.amount)
                    for line in application.budget_lines.all()],
                beneficiaries if beneficiaries is not None else [
                    BeneficiaryData(group.kind, group.planned_count)
                    for group in application.beneficiary_groups.all()],
            )
    except BaseException:
        application.refresh_from_db()
        raise
    return application


def _may_attach(actor: AbstractBaseUser, application: GrantApplication) -> bool:
    if holds_role(actor, Role.APPLICANT, application):
        return True
    # Foundation staff add their own documents (board minutes, the signed agreement).
    return any(holds_role(actor, role, application)
               for role in (Role.PROGRAMME_OFFICER, Role.SECRETARY_GENERAL, Role.BOARD_MEMBER))


@transaction.atomic
def attachment_add(*, actor: AbstractBaseUser, application: GrantApplication, kind: str, file: File) -> Attachment:
    """Attach a document checked by its content to an application; a refused upload leaves nothing stored.

    1. Who and when: an applicant of the community or foundation staff, until the application is finished
       (so the applicant adds receipts, photos and reports while the project runs or its report is returned).
    2. What: the content decides the type and the per-file limits hold (grants.attachments.check_upload).
    3. How much: all the application's documents together stay within ATTACHMENT_MAX_TOTAL_BYTES.
    4. Stored under a random name with the detected extension, with a thumbnail for images.
    """
    if not _may_attach(actor, application):
        raise ActionForbidden(_("You may not add documents to this application."), code="forbidden")
    if application.status in FINAL_STATES:
        raise ApplicationError(_("This application is finished; no more documents can be added."),
                               code="application_final")
    if kind not in Attachment.Kind.values:
        raise ApplicationError(_("Unknown kind of document."), code="invalid_kind", field="kind")
    document = check_upload(file)
    # Two uploads at once must not both fit under the total: they queue on the application's row.
    list(GrantApplication.objects.select_for_update().filter(pk=application.pk).values_list("pk", flat=True))
    used = application.attachments.aggregate(total=Sum("size"))["total"] or 0
    limit = settings.ATTACHMENT_MAX_TOTAL_BYTES
    if used + document.size > limit:
        raise ApplicationError(
            _("The documents of one application may take at most %(limit)s MB together; %(used)s MB are used "
              "and %(name)s needs %(size)s MB.") % {"limit": megabytes(limit), "used": megabytes(used),
                                                     "name": document.display_name,
                                                     "size": megabytes(document.size)},
            code="attachments_too_large", field="file")
    attachment = Attachment(application=application, kind=kind, original_name=document.display_name,
                            size=document.size, content_type=document.document_type.content_type,
                            sha256=document.sha256, uploaded_by=actor)
    stored: list[FieldFile] = []
    try:
        attachment.file.save(document.stored_name(), file, save=False)
        stored.append(attachment.file)
        if document.thumbnail is not None:
            attachment.thumbnail.save(document.thumbnail_name(), ContentFile(document.thumbnail), save=False)
            stored.append(attachment.thumbnail)
        attachment.save()
    except BaseException:
        for field_file in stored:
            field_file.storage.delete(field_file.name)
        raise
    return attachment


@transaction.atomic
def conflict_declare(*, actor: AbstractBaseUser, application: GrantApplication, reason: str) -> ConflictDeclaration:
    """A person declares a conflict of interest and so stays out of every decision on the application."""
    reason = require_text(reason, field="reason")
    if is_member_of_applicant(actor, application):
        raise ApplicationError(_("People of the applying community are already kept out of its decisions."),
                               code="conflict_redundant")
    declaration, _created = ConflictDeclaration.objects.get_or_create(
        application=application, person=actor, defaults={"reason": reason})
    return declaration
