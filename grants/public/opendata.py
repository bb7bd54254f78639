"""The public grants as open data in the 360Giving Data Standard (1.4): a JSON package and a flat CSV.

Identifiers follow 360Giving's rules: a grant is `360G-<prefix>-<application id>` (settings.OPEN_DATA_PREFIX);
the foundation is `CN-USCI-<unified social credit code>` (org-id.guide's list for 统一社会信用代码) when the code
is recorded, otherwise `360G-<prefix>-foundation-<id>`; a community, which has no registered identifier in
the system, is `360G-<prefix>-community-<id>`. Amounts are yuan (CNY). Nothing personal is exported: no
contacts, no budget lines, no beneficiaries' details, no bank references.

Both formats stream: the grants are read in chunks of CHUNK rows, two queries per chunk (the grants with their
organisations, and their paid tranches), however many grants there are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import Foundation, GrantApplication, Tranche
from ..states import State
from .selectors import public_applications, results_summary

CHUNK = 500
STANDARD_VERSION = "1.4"
CURRENCY = "CNY"
# Our own code lists, named with the publisher's prefix as 360Giving asks for vocabularies it does not define.
CATEGORY_VOCABULARY = "360G-{prefix}-service-category"
STATUS_VOCABULARY = "360G-{prefix}-grant-status"

Url = Callable[[GrantApplication], str]


def prefix() -> str:
    return settings.OPEN_DATA_PREFIX


def grant_id(application: GrantApplication) -> str:
    return f"360G-{prefix()}-{application.pk}"


def foundation_id(foundation: Foundation) -> str:
    code = (foundation.credit_code or "").strip().upper()
    return f"CN-USCI-{code}" if code else f"360G-{prefix()}-foundation-{foundation.pk}"


def community_id(community_pk: int) -> str:
    return f"360G-{prefix()}-community-{community_pk}"


def number(amount: Decimal) -> int | float:
    """A yuan amount as a JSON number: exact, since 14 digits round-trip through a double."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def open_data_grants() -> Iterator[GrantApplication]:
    """The public grants, oldest first, each with its organisations and paid tranches (`paid_tranches`)."""
    return (public_applications()
            .select_related("fund__foundation", "community__street_office", "category", "completion_report")
            .prefetch_related(Prefetch("tranches", to_attr="paid_tranches",
                                       queryset=Tranche.objects.filter(status=Tranche.Status.PAID).order_by("number")))
            .order_by("pk").iterator(chunk_size=CHUNK))


def grant_record(application: GrantApplication, *, url: Url) -> dict[str, Any]:
    """One grant as a 360Giving object (the schema's names; dates as YYYY-MM-DD, modification as date-time)."""
    fund, community, category = application.fund, application.community, application.category
    street = community.street_office
    paid = application.paid_tranches
    description = application.summary
    summary = results_summary(application)
    if summary:
        description = f"{description}\n\n{summary}"
    record: dict[str, Any] = {
        "id": grant_id(application),
        "title": application.title,
        "description": description,
        "currency": CURRENCY,
        "amountAppliedFor": number(application.requested_amount),
        "amountAwarded": number(application.approved_amount),
        "amountDisbursed": number(sum((t.amount for t in paid), Decimal(0))),
        "awardDate": timezone.localdate(application.approved_at).isoformat(),
        "plannedDates": [{"startDate": application.start_date.isoformat(),
                          "endDate": application.end_date.isoformat()}],
        "recipientOrganization": [{
            "id": community_id(community.pk),
            "name": community.name,
            "organisationType": community.get_kind_display(),
            "addressLocality": street.city or street.name,
            "addressRegion": street.district or street.name,
            "addressCountry": "CN",
        }],
        "fundingOrganization": [{"id": foundation_id(fund.foundation), "name": fund.foundation.name,
                                 "department": fund.name}],
        "grantProgramme": [{"code": fund.code, "title": fund.name}],
        "beneficiaryLocation": [{
            "name": " ".join(part for part in (street.city, street.district, street.name, community.name) if part),
            "countryCode": "CN",
        }],
        "classifications": [
            {"vocabulary": CATEGORY_VOCABULARY.format(prefix=prefix()), "code": category.code,
             "title": category.name},
            {"vocabulary": STATUS_VOCABULARY.format(prefix=prefix()), "code": application.status,
             "title": str(State(application.status).label)},
        ],
        "disbursementTransaction": [{
            "id": f"{grant_id(application)}-tranche-{tranche.number}",
            "transactionDate": timezone.localdate(tranche.paid_at).isoformat(),
            "currency": CURRENCY,
            "value": number(tranche.amount),
            "description": _("tranche %(number)s") % {"number": tranche.number},
        } for tranche in paid],
        "url": url(application),
        "dateModified": timezone.localtime(application.updated_at).isoformat(timespec="seconds"),
    }
    if application.closed_at:  # when the project was closed; when its activities really began is not recorded
        record["actualDates"] = [{"endDate": timezone.localdate(application.closed_at).isoformat()}]
    return record


def package_meta(*, index_url: str, download_url: str) -> dict[str, Any]:
    """The package's own fields: version, title, publisher (the foundation), licence, when it was made."""
    now = timezone.localtime()
    meta: dict[str, Any] = {
        "version": STANDARD_VERSION,
        "title": _("Grants of the community special fund"),
        "description": _("Grants of the community special fund from publicity onward: amounts in yuan (CNY), "
                         "recipient communities, service categories, status and paid tranches."),
        "identifier": f"360G-{prefix()}-grants",
        "issued": now.date().isoformat(),
        "modified": now.isoformat(timespec="seconds"),
        "license": settings.OPEN_DATA_LICENSE,
        "accessURL": index_url,
        "downloadURL": download_url,
    }
    foundation = Foundation.objects.order_by("pk").first()
    if foundation is not None:
        meta["publisher"] = {"identifier": foundation_id(foundation), "name": foundation.name, "website": index_url}
    return meta


def _in_default_language(chunks: Iterable[str]) -> Iterator[str]:
    # Open data is stable whatever language the visitor browses in: labels in the site's default language.
    iterator = iter(chunks)
    while True:
        with translation.override(settings.LANGUAGE_CODE):
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def package_json(*, url: Url, index_url: str, download_url: str) -> Iterator[str]:
    """The 360Giving JSON package, streamed: the package fields, then the grants one by one."""
    def chunks() -> Iterator[str]:
        head = json.dumps(package_meta(index_url=index_url, download_url=download_url), ensure_ascii=False)
        yield head[:-1] + ', "grants": [\n'
        separator = ""
        for application in open_data_grants():
            yield separator + json.dumps(grant_record(application, url=url), ensure_ascii=False)
            separator = ",\n"
        yield "\n]}\n"

    return _in_default_language(chunks())


# The CSV's columns: 360Giving's column titles (its spreadsheet template) and how to read each from a record.
CSV_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("Identifier", lambda g: g["id"]),
    ("Title", lambda g: g["title"]),
    ("Description", lambda g: g["description"]),
    ("Currency", lambda g: g["currency"]),
    ("Amount Applied For", lambda g: g["amountAppliedFor"]),
    ("Amount Awarded", lambda g: g["amountAwarded"]),
    ("Amount Disbursed", lambda g: g["amountDisbursed"]),
    ("Award Date", lambda g: g["awardDate"]),
    ("Planned Dates:Start Date", lambda g: g["plannedDates"][0]["startDate"]),
    ("Planned Dates:End Date", lambda g: g["plannedDates"][0]["endDate"]),
    ("Actual Dates:End Date", lambda g: g.get("actualDates", [{}])[0].get("endDate", "")),
    ("Recipient Org:Identifier", lambda g: g["recipientOrganization"][0]["id"]),
    ("Recipient Org:Name", lambda g: g["recipientOrganization"][0]["name"]),
    ("Recipient Org:City", lambda g: g["recipientOrganization"][0]["addressLocality"]),
    ("Recipient Org:County", lambda g: g["recipientOrganization"][0]["addressRegion"]),
    ("Recipient Org:Country", lambda g: g["recipientOrganization"][0]["addressCountry"]),
    ("Funding Org:Identifier", lambda g: g["fundingOrganization"][0]["id"]),
    ("Funding Org:Name", lambda g: g["fundingOrganization"][0]["name"]),
    ("Funding Org:Department", lambda g: g["fundingOrganization"][0]["department"]),
    ("Grant Programme:Code", lambda g: g["grantProgramme"][0]["code"]),
    ("Grant Programme:Title", lambda g: g["grantProgramme"][0]["title"]),
    ("Beneficiary Location:Name", lambda g: g["beneficiaryLocation"][0]["name"]),
    ("Beneficiary Location:Country Code", lambda g: g["beneficiaryLocation"][0]["countryCode"]),
    ("Classifications:Vocabulary", lambda g: g["classifications"][0]["vocabulary"]),
    ("Classifications:Code", lambda g: g["classifications"][0]["code"]),
    ("Classifications:Title", lambda g: g["classifications"][0]["title"]),
    # Not a 360Giving column: the grant's state, which the standard has no field for.
    ("Grant Status", lambda g: g["classifications"][1]["title"]),
    ("Disbursements", lambda g: "; ".join(f"{t['transactionDate']} {t['value']}"
                                          for t in g["disbursementTransaction"])),
    ("URL", lambda g: g["url"]),
    ("Last Modified", lambda g: g["dateModified"]),
]


def grants_csv(*, url: Url) -> Iterator[str]:
    """The same grants as a flat CSV (UTF-8 with a byte order mark, so that spreadsheets read the Chinese)."""
    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([title for title, _read in CSV_COLUMNS])
        for count, application in enumerate(open_data_grants(), start=1):
            record = grant_record(application, url=url)
            writer.writerow([read(record) for _title, read in CSV_COLUMNS])
            if count % 100 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return _in_default_language(chunks())
