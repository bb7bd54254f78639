"""The donation platform's webhook: one signed, fresh delivery records one donation; nothing else writes."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from grants.models import Donation, DonationPlatform, LedgerEntry
from grants.selectors import ledger_problems
from grants.services.webhooks import platform_donation_receive, platform_signature

from .conftest import SECRET, gift


def platform_gifts() -> list[Donation]:
    return list(Donation.objects.filter(source=Donation.Source.PLATFORM).order_by("pk"))


def entry_count() -> int:
    return LedgerEntry.objects.count()


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"], body
    return body


def test_a_signed_delivery_records_one_received_donation_and_one_ledger_entry(cast, deliver):
    entries = entry_count()

    response = deliver(gift(restricted_category="elder_care", restricted_community="宇虹社区"))

    assert response.status_code == 201
    (donation,) = platform_gifts()
    assert response.json() == {"status": "recorded", "donation": {
        "id": donation.pk, "donation_id": "GY-20261201-0001", "amount": "100.00", "received_on": "2026-12-01",
        "receipt_number": "COMMUNITY-2026-000002"}}
    assert (donation.fund, donation.amount, donation.donor_name, donation.public_acknowledgement,
            donation.is_anonymous, donation.purpose, donation.status, donation.received_on, donation.platform,
            donation.platform_donation_id, donation.recorded_by) == (
        cast.fund, Decimal("100.00"), "张三", True, False, "支持社区敬老", Donation.Status.RECEIVED,
        dt.date(2026, 12, 1), "gongyi", "GY-20261201-0001", None)
    assert (donation.restricted_category, donation.restricted_community) == (cast.elder_care, cast.a1)
    assert entry_count() == entries + 1
    entry = LedgerEntry.objects.get(donation=donation)
    assert (entry.kind, entry.amount, entry.actor) == (LedgerEntry.Kind.DONATION_RECEIVED, Decimal("100.00"), None)
    assert ledger_problems(cast.fund) == []
    assert "sessionid" not in response.cookies  # no session for platforms


def test_the_received_day_is_the_day_in_china_when_the_gift_was_paid(cast, deliver):
    deliver(gift(paid_at="2026-11-30T17:30:00Z"))  # 01:30 on 1 December in Shanghai
    assert platform_gifts()[0].received_on == dt.date(2026, 12, 1)


def test_a_retried_delivery_returns_the_same_donation_and_writes_nothing(cast, deliver):
    body = json.dumps(gift()).encode()
    timestamp = str(int(time.time()))
    first = deliver(body=body, timestamp=timestamp)
    entries = entry_count()

    again = deliver(body=body, timestamp=timestamp)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["status"] == "already_recorded"
    assert again.json()["donation"] == first.json()["donation"]
    assert len(platform_gifts()) == 1 and entry_count() == entries


def test_the_same_gift_resent_later_with_a_fresh_timestamp_is_a_no_op(cast, deliver):
    first = deliver(gift())
    entries = entry_count()

    later = deliver(gift(), timestamp=str(int(time.time()) + 60))

    assert later.status_code == 200 and later.json()["donation"]["id"] == first.json()["donation"]["id"]
    assert len(platform_gifts()) == 1 and entry_count() == entries


def test_the_same_donation_id_with_another_amount_is_refused(cast, deliver):
    deliver(gift())
    entries = entry_count()

    assert_refused(deliver(gift(amount="200.00")), 409, "donation_id_reused")
    assert len(platform_gifts()) == 1 and entry_count() == entries


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"secret": "another-secret-of-another-platform-0000"}, 401, "invalid_signature"),
    ({"signature": ""}, 401, "invalid_signature"),
    ({"signature": "sha256=" + "0" * 64}, 401, "invalid_signature"),
    ({"signature": "sha256=签名"}, 401, "invalid_signature"),
    ({"timestamp": ""}, 400, "invalid_timestamp"),
    ({"timestamp": "yesterday"}, 400, "invalid_timestamp"),
    ({"timestamp": "OLD"}, 401, "stale_timestamp"),
    ({"timestamp": "FUTURE"}, 401, "stale_timestamp"),
    ({"code": "no-such-platform"}, 404, "unknown_platform"),
])
def test_deliveries_that_are_not_signed_fresh_and_addressed_right_write_nothing(cast, deliver, change, status,
                                                                                code):
    entries = entry_count()
    change = dict(change)
    now = int(time.time())
    if change.get("timestamp") == "OLD":
        change["timestamp"] = str(now - 301)
    elif change.get("timestamp") == "FUTURE":
        change["timestamp"] = str(now + 301)

    assert_refused(deliver(gift(), **change), status, code)
    assert platform_gifts() == [] and entry_count() == entries


def test_a_signature_over_another_body_is_refused(cast, deliver):
    timestamp = str(int(time.time()))
    signature = platform_signature(secret=SECRET, timestamp=timestamp, body=json.dumps(gift()).encode())
    tampered = json.dumps(gift(amount="100000.00")).encode()

    assert_refused(deliver(body=tampered, timestamp=timestamp, signature=signature), 401, "invalid_signature")
    assert platform_gifts() == []


def test_a_replay_of_a_captured_delivery_after_the_window_is_refused(cast, deliver, platform):
    body = json.dumps(gift(donation_id="GY-REPLAY")).encode()
    timestamp = str(int(time.time()) - platform.replay_window_seconds - 1)
    signature = platform_signature(secret=SECRET, timestamp=timestamp, body=body)

    assert_refused(deliver(body=body, timestamp=timestamp, signature=signature), 401, "stale_timestamp")
    assert platform_gifts() == []


def test_an_inactive_platform_is_unknown(cast, deliver, platform):
    DonationPlatform.objects.filter(pk=platform.pk).update(is_active=False)
    assert_refused(deliver(gift()), 404, "unknown_platform")
    assert platform_gifts() == []


@pytest.mark.parametrize(("body", "code", "field"), [
    (b"{not json", "malformed_json", None),
    (b"\xff\xfe\x00", "malformed_json", None),
    (b"[1, 2]", "malformed_json", None),
    (json.dumps(gift(fund="another-fund")).encode(), "unknown_fund", "fund"),
    (json.dumps(gift(amount="-100.00")).encode(), "invalid_amount", "amount"),
    (json.dumps(gift(amount="0.00")).encode(), "invalid_amount", "amount"),
    (json.dumps(gift(amount="abc")).encode(), "invalid_amount", "amount"),
    (json.dumps(gift(amount="100.005")).encode(), "invalid_amount", "amount"),
    (json.dumps(gift(amount="1e3")).encode(), "invalid_amount", "amount"),
    (json.dumps(gift(amount=True)).encode(), "invalid_amount", "amount"),
    (json.dumps(gift(amount="9" * 40)).encode(), "invalid_amount", "amount"),
    (json.dumps(gift(currency="USD")).encode(), "unsupported_currency", "currency"),
    (json.dumps(gift(paid_at="2026-12-01T09:00:00")).encode(), "invalid_paid_at", "paid_at"),
    (json.dumps(gift(paid_at="yesterday")).encode(), "invalid_paid_at", "paid_at"),
    (json.dumps(gift(paid_at="2026-12-24T09:00:00+08:00")).encode(), "invalid_paid_at", "paid_at"),
    (json.dumps(gift(anonymous="no")).encode(), "invalid_field", "anonymous"),
    (json.dumps(gift(donor_name="名" * 201)).encode(), "invalid_field", "donor_name"),
    (json.dumps(gift(restricted_category="no-such-category")).encode(), "invalid_restriction", None),
    (json.dumps(gift(anonymous=True, public_acknowledgement=True)).encode(), "anonymous_acknowledged",
     "public_acknowledgement"),
    *((json.dumps({k: v for k, v in gift().items() if k != missing}).encode(), "missing_field", missing)
      for missing in ("donation_id", "amount", "currency", "paid_at", "fund")),
    (json.dumps(gift(donation_id="  ")).encode(), "missing_field", "donation_id"),
])
def test_a_signed_but_bad_body_is_refused_with_a_clear_message_and_writes_nothing(cast, deliver, body, code,
                                                                                   field):
    entries = entry_count()

    response = deliver(body=body)

    refused = assert_refused(response, 400, code)
    assert refused.get("field") == field
    assert platform_gifts() == [] and entry_count() == entries


def test_unknown_fund_says_so(cast, deliver):
    assert deliver(gift(fund="another-fund")).json()["message"] == "unknown fund"


def test_an_amount_sent_as_a_json_number_is_read_without_floats(cast, deliver):
    body = json.dumps(gift()).replace('"amount": "100.00"', '"amount": 0.1').encode()
    assert deliver(body=body).status_code == 201
    assert platform_gifts()[0].amount == Decimal("0.10")


def test_only_post_is_answered(cast, platform):
    response = Client().get(f"/donations/webhook/{platform.code}/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_a_huge_body_is_refused_before_it_is_read(cast, deliver):
    response = deliver(body=b"{" + b" " * (65 * 1024) + b"}")
    assert_refused(response, 413, "body_too_large")


def test_the_service_takes_the_time_it_is_given(cast, platform):
    body = json.dumps(gift()).encode()
    sent = dt.datetime(2026, 12, 1, 9, 0, 5, tzinfo=dt.UTC)
    timestamp = str(int(sent.timestamp()))
    signature = platform_signature(secret=SECRET, timestamp=timestamp, body=body)

    delivery = platform_donation_receive(platform_code="gongyi", body=body, signature=signature,
                                         timestamp=timestamp, now=sent + dt.timedelta(seconds=299))

    assert delivery.created and delivery.donation.amount == Decimal("100.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_gift_at_the_same_moment_record_it_once(cast, platform):
    body = json.dumps(gift(donation_id="GY-RACE")).encode()
    timestamp = str(int(time.time()))
    signature = platform_signature(secret=SECRET, timestamp=timestamp, body=body)
    start = threading.Barrier(2)
    results: list[object] = []

    def deliver_once() -> None:
        try:
            start.wait()
            delivery = platform_donation_receive(platform_code=platform.code, body=body, signature=signature,
                                                 timestamp=timestamp)
            results.append(delivery.created)
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == [False, True]
    assert Donation.objects.filter(platform_donation_id="GY-RACE").count() == 1
    assert LedgerEntry.objects.filter(donation__platform_donation_id="GY-RACE").count() == 1
