"""The queue follows an organisation that moves: a community to another street, a fund to another foundation."""

from __future__ import annotations

import pytest

from grants.models import Community, Fund
from grants.states import State
from tests.factories import FoundationFactory, UserFactory
from tests.helpers import advance
from workflows.models import GrantProcess
from workflows.selectors import tasks_inbox_and_queue, tasks_queue

pytestmark = pytest.mark.django_db


def _queued(person, application) -> bool:
    return tasks_queue(person).filter(process__grantprocess__application=application).exists()


def test_a_process_starts_with_its_applications_organisations(cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    process = GrantProcess.objects.get(application=application)
    assert (process.community_id, process.street_office_id, process.foundation_id) == (
        cast.a1.pk, cast.street_a.pk, cast.foundation.pk)


def test_a_community_moved_to_another_street_takes_its_waiting_tasks_along(cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    assert _queued(cast.street_reviewer, application) and not _queued(cast.other_street_reviewer, application)

    community = Community.objects.get(pk=cast.a1.pk)  # as the admin saves it
    community.street_office = cast.street_b
    community.save()

    assert GrantProcess.objects.get(application=application).street_office_id == cast.street_b.pk
    assert not _queued(cast.street_reviewer, application)  # else the old street keeps seeing it
    assert _queued(cast.other_street_reviewer, application)


def test_saving_a_community_unchanged_leaves_its_processes_alone(cast, make_application,
                                                                 django_assert_num_queries):
    advance(make_application(), State.STREET_REVIEW, cast)
    community = Community.objects.get(pk=cast.a1.pk)
    with django_assert_num_queries(2):  # the community's UPDATE and the receiver's (matching no row)
        community.save()
    assert GrantProcess.objects.get().street_office_id == cast.street_a.pk


def test_a_fund_moved_to_another_foundation_takes_its_waiting_tasks_along(cast, make_application):
    application = advance(make_application(), State.FOUNDATION_REVIEW, cast)
    other = FoundationFactory(name="另一基金会", short_name="另基")
    other_officer = UserFactory(username="other_officer", roles=[("programme_officer", other)])
    assert _queued(cast.programme_officer, application) and not _queued(other_officer, application)

    fund = Fund.objects.get(pk=cast.fund.pk)
    fund.foundation = other
    fund.save()

    assert GrantProcess.objects.get(application=application).foundation_id == other.pk
    assert not _queued(cast.programme_officer, application)
    assert _queued(other_officer, application)
    assert tasks_inbox_and_queue(other_officer).filter(process__grantprocess__application=application).exists()
