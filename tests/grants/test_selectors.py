"""`applications_visible_to`: each person sees exactly their organisations' applications, at a fixed cost."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from grants.models import Role
from grants.selectors import applications_visible_to
from grants.states import State
from tests.factories import ApplicationFactory, UserFactory
from tests.helpers import advance

S = State


@pytest.fixture
def spread(cast):
    """A draft and an application under street review in each of A1, A2 and B1."""
    applicant_a2 = UserFactory(username="applicant_a2", roles=[(Role.APPLICANT, cast.a2)])
    head_a2 = UserFactory(username="head_a2", roles=[(Role.COMMUNITY_HEAD, cast.a2)])
    head_b1 = UserFactory(username="head_b1", roles=[(Role.COMMUNITY_HEAD, cast.b1)])
    made = {}
    for community, applicant, head in ((cast.a1, cast.applicant, cast.community_head),
                                       (cast.a2, applicant_a2, head_a2), (cast.b1, cast.applicant_b, head_b1)):
        made[f"{community.name}-draft"] = ApplicationFactory(actor=applicant, category=cast.elder_care)
        made[f"{community.name}-review"] = advance(
            ApplicationFactory(actor=applicant, category=cast.children), S.STREET_REVIEW, cast,
            actors={S.DRAFT: applicant, S.COMMUNITY_CONFIRMATION: head})
    return made


FOUNDATION = ("programme_officer", "secretary_general", "board_member", "finance", "auditor")
EXPECTED = {
    # Their community's applications, drafts included.
    "applicant": {"宇虹社区-draft", "宇虹社区-review"},
    "community_head": {"宇虹社区-draft", "宇虹社区-review"},
    "applicant_b": {"碧海社区-draft", "碧海社区-review"},
    # Their street's communities, once out of draft.
    "street_reviewer": {"宇虹社区-review", "阅湖社区-review"},
    "street_leader": {"宇虹社区-review", "阅湖社区-review"},
    "other_street_reviewer": {"碧海社区-review"},
    # Every non-draft of the foundation's fund.
    **{person: {"宇虹社区-review", "阅湖社区-review", "碧海社区-review"} for person in FOUNDATION},
    "outsider": set(),
}


@pytest.mark.parametrize("person", list(EXPECTED))
def test_each_person_sees_exactly_their_organisations_applications(person, cast, spread):
    names = {application.pk: name for name, application in spread.items()}
    seen = {names[pk] for pk in applications_visible_to(getattr(cast, person)).values_list("pk", flat=True)}
    assert seen == EXPECTED[person]


def test_anonymous_visitor_sees_nothing(spread):
    assert not applications_visible_to(AnonymousUser()).exists()


def test_street_and_foundation_do_not_see_an_application_before_the_community_confirms_it(cast, make_application):
    """The selector's contract: street and foundation see an application once it has left the community."""
    application = advance(make_application(), S.COMMUNITY_CONFIRMATION, cast)
    assert applications_visible_to(cast.applicant).filter(pk=application.pk).exists()
    for person in ("street_reviewer", "programme_officer"):
        assert not applications_visible_to(getattr(cast, person)).filter(pk=application.pk).exists(), person


def _read_page(user) -> list[tuple[str, str, str, str]]:
    return [(a.title, a.fund.name, a.community.street_office.name, a.category.name)
            for a in applications_visible_to(user)]


@pytest.mark.parametrize(("person", "queries"), [
    ("applicant", 2), ("street_reviewer", 2), ("secretary_general", 2), ("outsider", 1)])
def test_query_count_does_not_grow_with_the_number_of_applications(person, queries, cast, make_application,
                                                                   django_assert_num_queries):
    def fresh_user():  # a new user object each time: its roles are not cached yet
        return get_user_model().objects.get(pk=getattr(cast, person).pk)

    advance(make_application(), S.STREET_REVIEW, cast)
    user = fresh_user()
    with django_assert_num_queries(queries):  # the person's roles, then one query for the page
        few = _read_page(user)
    for _ in range(3):
        advance(make_application(), S.STREET_REVIEW, cast)
    user = fresh_user()
    with django_assert_num_queries(queries):
        many = _read_page(user)
    assert len(many) == (0 if person == "outsider" else len(few) + 3)
