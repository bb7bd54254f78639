"""A document the fund requires blocks submission, and the refusal names the missing document."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _

from grants import services
from grants.errors import ApplicationError
from grants.models import Attachment
from grants.states import State

from .conftest import pdf_bytes, upload


def missing(*kinds: str) -> str:
    labels = "、".join(str(Attachment.Kind(kind).label) for kind in kinds)
    return _("A required document is missing: %(documents)s.") % {"documents": labels}


def test_submission_without_a_required_document_names_it(cast, make_application):
    cast.fund.required_documents = ["application_form", "budget_detail"]
    cast.fund.save(update_fields=["required_documents"])
    application = make_application()  # carries the application form only
    with pytest.raises(ApplicationError) as caught:
        services.application_submit(actor=cast.applicant, application=application)
    assert (caught.value.code, caught.value.message) == ("document_missing", missing("budget_detail"))
    assert application.status == State.DRAFT

    services.attachment_add(actor=cast.applicant, application=application, kind="budget_detail",
                            file=upload("预算明细.pdf", pdf_bytes()))
    services.application_submit(actor=cast.applicant, application=application)
    assert application.status == State.COMMUNITY_CONFIRMATION


def test_every_missing_document_is_named(cast, make_application):
    cast.fund.required_documents = ["application_form", "budget_detail"]
    cast.fund.save(update_fields=["required_documents"])
    application = make_application(documents=())
    with pytest.raises(ApplicationError) as caught:
        services.application_submit(actor=cast.applicant, application=application)
    assert caught.value.message == missing("application_form", "budget_detail")


def test_the_application_page_tells_the_applicant_which_document_is_missing(cast, make_application, browser):
    application = make_application(documents=())
    page = browser(cast.applicant).get(reverse("application_detail", args=[application.pk]))
    assert missing("application_form") in page.context["submit_problems"]
    response = browser(cast.applicant).post(reverse("application_action", args=[application.pk, "submit"]), {})
    assert response.status_code == 400
    assert missing("application_form") in {response.context["page_error"],
                                           *(str(e) for form in response.context["action_forms"]
                                             for e in form.non_field_errors())}
