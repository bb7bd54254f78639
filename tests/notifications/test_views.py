"""The notification pages: the bell, the list with "mark all read", preferences, and the operations page."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from notifications.channels import DeliveryError
from notifications.context_processors import Bell, bell
from notifications.models import Channel, ChannelHealth, ChannelPreference, Delivery, MessageType
from notifications.services import delivery_attempt, event_record
from tests.factories import UserFactory

from .support import delivered_ids, with_email

pytestmark = pytest.mark.django_db
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def browser(db):
    clients: dict[int, Client] = {}

    def of(user) -> Client:
        if user.pk not in clients:
            clients[user.pk] = Client(**ENGLISH)
            clients[user.pk].force_login(user)
        return clients[user.pk]

    return of


@pytest.fixture
def staff(db, settings):
    """An administrator; admin pages link static files, which the manifest storage only knows after collectstatic."""
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


def notify(cast, application, n: int, person=None) -> list[Delivery]:
    """`n` approval-like notifications for `person` (the applicant); their in-app deliveries."""
    person = person or cast.applicant
    events = [event_record(kind=MessageType.RETURNED_FOR_REVISION, natural_key=f"test:{person.pk}:{k}",
                           application=application, recipient=person, payload={"comment": f"reason {k}"})
              for k in range(n)]
    return [e.deliveries.get(channel=Channel.IN_APP) for e in events]


# --- The bell ----------------------------------------------------------------------------------------------


def test_bell_counts_unread_in_app_notifications_in_one_query(cast, make_application,
                                                             django_assert_num_queries):
    application = make_application()
    mine = notify(cast, application, 3)
    notify(cast, application, 2, person=cast.applicant_b)  # someone else's
    mine[0].read_at = mine[0].created_at
    mine[0].save(update_fields=["read_at"])

    request = RequestFactory().get("/")
    request.user = cast.applicant
    context = bell(request)
    with django_assert_num_queries(1):
        assert context["bell"].unread == 2
        assert context["bell"].unread == 2  # counted once per request

    html = render_to_string("notifications/bell.html", context, request=request)
    assert reverse("notifications:list") in html and '<span class="count" aria-hidden="true">2</span>' in html


def test_bell_is_absent_for_visitors_and_quiet_at_zero(cast):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert bell(request) == {}
    assert render_to_string("notifications/bell.html", {}, request=request).strip() == ""

    html = render_to_string("notifications/bell.html", {"bell": Bell(cast.outsider)})
    assert "🔔" in html and 'class="count"' not in html


# --- The list -------------------------------------------------------------------------------------------


def test_list_shows_the_persons_notifications_rendered_newest_first(cast, make_application, browser):
    application = make_application()
    notify(cast, application, 2)
    notify(cast, application, 1, person=cast.applicant_b)

    response = browser(cast.applicant).get(reverse("notifications:list"))

    assert response.status_code == 200
    text = response.content.decode()
    assert text.count(f"Returned for revision: {application.title}") == 2
    assert text.index("reason 1") < text.index("reason 0")  # newest first
    assert "2 unread" in text and "Mark all as read" in text
    assert reverse("application_detail", args=[application.pk]) in text
    assert browser(cast.applicant_b).get(reverse("notifications:list")).content.decode().count(
        "Returned for revision") == 1


def test_list_costs_the_same_queries_for_two_or_twenty_notifications(cast, make_application, browser,
                                                                     django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    application = make_application()
    client = browser(cast.applicant)
    notify(cast, application, 2)
    client.get(reverse("notifications:list"))  # warm the session
    with CaptureQueriesContext(connection) as two:
        client.get(reverse("notifications:list"))
    Delivery.objects.all().delete()
    for k in range(20):
        event_record(kind=MessageType.APPROVED, natural_key=f"test:many:{k}", application=application,
                     recipient=cast.applicant)
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(reverse("notifications:list"))
    assert response.content.decode().count("Approved: ") == 20
    assert len(twenty) == len(two)


def test_a_long_list_counts_only_so_far_and_still_pages_to_its_end(cast, make_application, browser, monkeypatch):
    from grants import pagination

    monkeypatch.setattr(pagination, "PAGE_SIZE", 2)
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    notify(cast, make_application(), 5)
    client = browser(cast.applicant)

    def shown(number: int) -> tuple[str, int]:
        response = client.get(reverse("notifications:list"), {"page": number})
        assert response.status_code == 200
        return response.content.decode(), len(response.context["rows"])

    text, rows = shown(1)
    assert rows == 2 and "More than 3 notifications" in text and "Page 1 of at least 2" in text
    text, rows = shown(3)  # a far page counts up to its own end: the total is known again
    assert rows == 1 and "5 notifications" in text and "Page 3 of 3" in text and "at least" not in text


def test_mark_all_read_marks_only_the_persons_in_app_notifications(cast, make_application, browser):
    application = make_application()
    mine = notify(cast, application, 3)
    theirs = notify(cast, application, 1, person=cast.applicant_b)

    response = browser(cast.applicant).post(reverse("notifications:mark_read"), follow=True)

    assert response.redirect_chain == [(reverse("notifications:list"), 302)]
    assert "3 notifications marked as read." in response.content.decode()
    assert not Delivery.objects.filter(pk__in=[d.pk for d in mine], read_at__isnull=True).exists()
    assert Delivery.objects.get(pk=theirs[0].pk).read_at is None
    # Email rows are not notifications in the app: untouched.
    assert not Delivery.objects.filter(channel=Channel.EMAIL, read_at__isnull=False).exists()
    assert browser(cast.applicant).get(reverse("notifications:mark_read")).status_code == 405


def test_mark_one_read(cast, make_application, browser):
    first, second = notify(cast, make_application(), 2)
    browser(cast.applicant).post(reverse("notifications:mark_read"), {"delivery": first.pk})
    assert Delivery.objects.get(pk=first.pk).read_at is not None
    assert Delivery.objects.get(pk=second.pk).read_at is None
    # Someone else's id changes nothing.
    browser(cast.applicant_b).post(reverse("notifications:mark_read"), {"delivery": second.pk})
    assert Delivery.objects.get(pk=second.pk).read_at is None


def test_visitors_are_sent_to_the_login_page(db):
    for name in ("list", "preferences", "operations"):
        response = Client().get(reverse(f"notifications:{name}"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Preferences ----------------------------------------------------------------------------------------


def test_preferences_are_saved(cast, browser):
    cast.applicant.email = "applicant@example.org"
    cast.applicant.save(update_fields=["email"])
    client = browser(cast.applicant)
    assert client.get(reverse("notifications:preferences")).status_code == 200

    response = client.post(reverse("notifications:preferences"), {
        "language": "en", "email_enabled": "on", "sms_enabled": "on", "phone": "+86 138-0013-8000",
        "wecom_enabled": "on", "wecom_webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"})

    assert response.status_code == 302
    preference = ChannelPreference.objects.get(user=cast.applicant)
    assert (preference.language, preference.phone) == ("en", "13800138000")
    assert preference.channels() == [Channel.IN_APP, Channel.EMAIL, Channel.SMS, Channel.WECOM]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"sms_enabled": "on"}, "phone", "Text messages need your mobile phone number."),
    ({"phone": "12345"}, "phone", "Enter a mainland mobile number of 11 digits."),
    ({"wecom_enabled": "on"}, "wecom_webhook", "The WeCom group robot needs its webhook address."),
    ({"wecom_enabled": "on", "wecom_webhook": "http://127.0.0.1:6379/"}, "wecom_webhook",
     "Enter the robot&#x27;s webhook address as WeCom shows it"),
    ({"email_enabled": "on"}, "email_enabled", "Your account has no email address"),
], ids=["sms-without-phone", "bad-phone", "wecom-without-address", "not-a-wecom-address", "email-without-address"])
def test_preferences_refuse_a_channel_without_a_usable_address(cast, browser, data, field, message):
    response = browser(cast.applicant).post(reverse("notifications:preferences"), {"language": "en", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert not ChannelPreference.objects.filter(user=cast.applicant).exists()


# --- Operations -----------------------------------------------------------------------------------------


@pytest.fixture
def failing(cast, make_application, counting):
    """One failed email (permanent), one email waiting for its retry, one sent in-app notification."""
    counting[Channel.EMAIL].fail_with.extend([DeliveryError("address refused: x@example.org", permanent=True),
                                              DeliveryError("SMTP unavailable: timed out", permanent=False)])
    application = make_application()
    with_email(cast.applicant)
    first = event_record(kind=MessageType.APPROVED, natural_key="test:ops:1", application=application,
                         recipient=cast.applicant)
    second = event_record(kind=MessageType.APPROVED, natural_key="test:ops:2", application=application,
                          recipient=cast.applicant)
    failed, retrying = first.deliveries.get(channel=Channel.EMAIL), second.deliveries.get(channel=Channel.EMAIL)
    delivery_attempt(delivery_id=failed.pk)
    delivery_attempt(delivery_id=retrying.pk)
    delivery_attempt(delivery_id=first.deliveries.get(channel=Channel.IN_APP).pk)
    return failed, retrying


def test_operations_page_is_for_staff_only(cast, browser):
    response = browser(cast.secretary_general).get(reverse("notifications:operations"))
    assert response.status_code == 403
    assert browser(cast.secretary_general).post(reverse("notifications:retry", args=[1])).status_code == 403


def test_operations_shows_counts_failures_and_channel_health(failing, browser, staff):
    failed, retrying = failing
    response = browser(staff).get(reverse("notifications:operations"))

    assert response.status_code == 200
    rows = {row.channel: row.counts for row in response.context["channels"]}
    assert rows[Channel.EMAIL] == {"failed": 1, "queued": 1}
    assert rows[Channel.IN_APP] == {"sent": 1, "queued": 1}
    assert [d.pk for d in response.context["failing"]] == [failed.pk, retrying.pk]
    text = response.content.decode()
    assert "address refused: x@example.org" in text and "SMTP unavailable: timed out" in text
    assert reverse("notifications:retry", args=[failed.pk]) in text
    assert reverse("notifications:retry", args=[retrying.pk]) not in text  # it retries by itself
    assert ChannelHealth.objects.get(channel=Channel.EMAIL).last_error in text


def test_retry_button_queues_a_failed_delivery_again(failing, browser, staff, django_capture_on_commit_callbacks):
    failed, retrying = failing
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(staff).post(reverse("notifications:retry", args=[failed.pk]), follow=True)
    assert "The delivery is queued again." in response.content.decode()
    stored = Delivery.objects.get(pk=failed.pk)
    assert (stored.status, stored.attempts) == (Delivery.Status.QUEUED, 0)
    assert delivered_ids() == [failed.pk]

    response = browser(staff).post(reverse("notifications:retry", args=[retrying.pk]), follow=True)
    assert "nothing to retry" in response.content.decode()


# --- Admin ----------------------------------------------------------------------------------------------


def test_admin_lists_deliveries_by_status_and_channel_and_finds_recipients(failing, browser, staff):
    failed, _retrying = failing
    client = browser(staff)
    changelist = reverse("admin:notifications_delivery_changelist")

    response = client.get(changelist, {"status__exact": "failed", "channel__exact": "email"})
    assert response.status_code == 200
    assert [d.pk for d in response.context["cl"].result_list] == [failed.pk]
    response = client.get(changelist, {"q": "applicant"})
    assert {d.recipient.username for d in response.context["cl"].result_list} == {"applicant"}
    assert client.get(reverse("admin:notifications_delivery_change", args=[failed.pk])).status_code == 200
    assert client.get(reverse("admin:notifications_delivery_add")).status_code == 403


def test_admin_retry_action_requeues_failed_deliveries_only(failing, browser, staff,
                                                           django_capture_on_commit_callbacks):
    failed, retrying = failing
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(staff).post(reverse("admin:notifications_delivery_changelist"), {
            "action": "retry", "_selected_action": [failed.pk, retrying.pk]}, follow=True)

    text = response.content.decode()
    assert "1 failed delivery is queued again." in text
    assert "1 selected delivery had not failed and was left alone." in text
    assert Delivery.objects.get(pk=failed.pk).status == Delivery.Status.QUEUED
    assert delivered_ids() == [failed.pk]


def test_admin_events_and_channel_health_are_read_only(failing, browser, staff):
    client = browser(staff)
    assert client.get(reverse("admin:notifications_event_changelist")).status_code == 200
    assert client.get(reverse("admin:notifications_event_add")).status_code == 403
    response = client.get(reverse("admin:notifications_channelhealth_changelist"))
    assert "SMTP unavailable: timed out" in response.content.decode()  # the email channel's latest error
    assert client.get(reverse("admin:notifications_channelpreference_add")).status_code == 200
