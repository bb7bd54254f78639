"""The public grants as 360Giving open data: the JSON validates against the standard's schema; the CSV matches."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from grants.states import State
from tests.helpers import advance

from .conftest import RESULTS, page_text

pytestmark = pytest.mark.django_db

SCHEMA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data" / "360giving"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _format_checker() -> FormatChecker:
    """jsonschema's checker plus date-time and uri, which it checks only with optional packages not installed here.

    Without them every date would match both branches of the schema's oneOf [date-time, YYYY-MM-DD] and fail.
    """
    checker = FormatChecker()

    @checker.checks("date-time")
    def date_time(value: object) -> bool:
        if not isinstance(value, str) or not RFC3339.fullmatch(value):
            return False
        dt.datetime.fromisoformat(value.replace("z", "Z"))
        return True

    @checker.checks("uri")
    def uri(value: object) -> bool:
        parts = urlsplit(value) if isinstance(value, str) else None
        return bool(parts and parts.scheme and (parts.netloc or parts.path))

    return checker


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    if not (SCHEMA_DIR / "360-giving-package-schema.json").is_file():
        pytest.skip(f"the 360Giving schema is not in {SCHEMA_DIR}; CI provides ../shared/data/360giving/")
    package = json.loads((SCHEMA_DIR / "360-giving-package-schema.json").read_text())
    grant = json.loads((SCHEMA_DIR / "360-giving-schema.json").read_text())
    # The package refers to the grant schema by its public URL: resolve it to the local copy, offline.
    resource = Resource.from_contents(grant, default_specification=DRAFT202012)
    registry = Registry().with_resources([(package["properties"]["grants"]["items"]["$ref"], resource),
                                          (grant["$id"], resource)])
    return Draft202012Validator(package, registry=registry, format_checker=_format_checker())


def open_data(client) -> dict:
    response = client.get(reverse("public:grants_json"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    return json.loads(page_text(response))


def errors(validator: Draft202012Validator, document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def by_id(document: dict) -> dict[str, dict]:
    return {grant["id"]: grant for grant in document["grants"]}


def test_the_json_package_validates_against_the_360giving_schema(client, grants, validator):
    document = open_data(client)

    assert errors(validator, document) == []
    assert set(by_id(document)) == {f"360G-cn-redcross-{a.pk}" for a in grants.public}


def test_the_validator_is_not_vacuous(client, grants, validator):
    document = open_data(client)
    del document["grants"][0]["currency"]
    document["grants"][1]["awardDate"] = "26/11/2026"

    assert len(errors(validator, document)) == 2


def test_each_grant_carries_its_amounts_dates_organisations_and_payments(client, cast, grants):
    grant = by_id(open_data(client))[f"360G-cn-redcross-{grants.in_progress.pk}"]
    application = grants.in_progress

    assert grant["currency"] == "CNY"
    assert (grant["amountAppliedFor"], grant["amountAwarded"], grant["amountDisbursed"]) == (50000, 50000, 25000)
    assert [(t["value"], t["currency"]) for t in grant["disbursementTransaction"]] == [(25000, "CNY")]
    assert grant["awardDate"] == timezone.localdate(application.approved_at).isoformat()
    assert grant["plannedDates"] == [{"startDate": application.start_date.isoformat(),
                                      "endDate": application.end_date.isoformat()}]
    assert grant["recipientOrganization"][0]["id"] == f"360G-cn-redcross-community-{cast.a1.pk}"
    assert grant["recipientOrganization"][0]["name"] == "宇虹社区"
    assert grant["fundingOrganization"][0]["name"] == "贵州省红十字基金会"
    assert grant["fundingOrganization"][0]["department"] == cast.fund.name
    assert grant["grantProgramme"] == [{"code": cast.fund.code, "title": cast.fund.name}]
    assert grant["beneficiaryLocation"][0]["countryCode"] == "CN"
    assert [c["code"] for c in grant["classifications"]] == ["elder_care", State.IN_PROGRESS]
    assert grant["url"].endswith(reverse("public:project", args=[application.pk]))


def test_closed_and_cancelled_grants_say_so(client, grants):
    document = by_id(open_data(client))
    closed = document[f"360G-cn-redcross-{grants.closed.pk}"]
    cancelled = document[f"360G-cn-redcross-{grants.cancelled.pk}"]

    assert closed["amountDisbursed"] == 50000
    assert sum(t["value"] for t in closed["disbursementTransaction"]) == 50000
    assert "actualDates" in closed and RESULTS in closed["description"]
    assert cancelled["classifications"][1]["code"] == State.CANCELLED
    assert cancelled["amountDisbursed"] == 0


def test_the_foundation_is_identified_by_its_credit_code_when_recorded(client, cast, grants):
    cast.foundation.credit_code = "53520000MJY0000000"
    cast.foundation.save()

    document = open_data(client)

    assert {g["fundingOrganization"][0]["id"] for g in document["grants"]} == {"CN-USCI-53520000MJY0000000"}
    assert document["publisher"]["identifier"] == "CN-USCI-53520000MJY0000000"


def test_the_identifier_prefix_comes_from_the_settings(client, grants, settings):
    settings.OPEN_DATA_PREFIX = "gz-community"

    assert set(by_id(open_data(client))) == {f"360G-gz-community-{a.pk}" for a in grants.public}


def test_the_csv_has_the_same_grants_under_360giving_column_titles(client, grants):
    document = by_id(open_data(client))
    response = client.get(reverse("public:grants_csv"))
    assert response["Content-Type"].startswith("text/csv")

    rows = list(csv.DictReader(io.StringIO(page_text(response))))

    assert {row["Identifier"] for row in rows} == set(document)
    for row in rows:
        grant = document[row["Identifier"]]
        assert row["Title"] == grant["title"]
        assert Decimal(row["Amount Awarded"]) == Decimal(str(grant["amountAwarded"]))
        assert Decimal(row["Amount Disbursed"]) == Decimal(str(grant["amountDisbursed"]))
        assert row["Recipient Org:Identifier"] == grant["recipientOrganization"][0]["id"]
        assert row["Funding Org:Identifier"] == grant["fundingOrganization"][0]["id"]
        assert row["Award Date"] == grant["awardDate"]
    assert {"Currency", "Planned Dates:Start Date", "Beneficiary Location:Name", "Classifications:Title"} <= set(
        rows[0])


def test_the_open_data_costs_a_fixed_number_of_queries(client, cast, grants, make_application):
    def count(name: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            page_text(client.get(reverse(name)))
        return len(queries)

    before = [count("public:grants_json"), count("public:grants_csv")]
    for _ in range(4):
        advance(make_application(), State.IN_PROGRESS, cast)

    assert [count("public:grants_json"), count("public:grants_csv")] == before
