"""Channels behind one interface: `deliver(message)`, raising DeliveryError that says if a retry can help."""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from .models import Channel

logger = logging.getLogger(__name__)
HTTP_TIMEOUT = 10


class DeliveryError(Exception):
    """A message could not be delivered; `permanent` says that trying again will not help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    """A rendered message for one person on one channel."""

    subject: str
    body: str
    email: str = ""
    phone: str = ""
    wecom_webhook: str = ""


class Transport(Protocol):
    def deliver(self, message: Message) -> None: ...


class InAppChannel:
    """The outbox row itself is the in-app notification (the bell and the list page read it)."""

    def deliver(self, message: Message) -> None:
        return None


class EmailChannel:
    """Email through Django's mail backend (SMTP in production)."""

    def deliver(self, message: Message) -> None:
        if not message.email:
            raise DeliveryError("no email address", permanent=True)
        try:
            send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.email])
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"address refused: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx: the server will not take this message; 4xx: try later.
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP unavailable: {exc}", permanent=False) from exc


def _post_json(url: str, payload: dict) -> dict:
    """POST JSON; 4xx is permanent, 5xx and network trouble are temporary."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}", permanent=400 <= exc.code < 500 and exc.code != 429) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise DeliveryError(f"unreachable: {exc}", permanent=False) from exc
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}


class SmsProvider(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class ConsoleSmsProvider:
    """Writes text messages to the log: the demo's provider."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", phone, text)


class HttpSmsProvider:
    """A provider reached by posting JSON to `SMS_HTTP_URL` with `SMS_HTTP_TOKEN`."""

    def send(self, phone: str, text: str) -> None:
        _post_json(settings.SMS_HTTP_URL, {"token": settings.SMS_HTTP_TOKEN, "phone": phone, "text": text})


class SmsChannel:
    """Text messages through the configured provider."""

    def deliver(self, message: Message) -> None:
        if not message.phone:
            raise DeliveryError("no mobile phone number", permanent=True)
        provider: SmsProvider = import_string(settings.SMS_PROVIDER)()
        provider.send(message.phone, f"{message.subject}：{message.body}")


class WeComChannel:
    """A WeCom (企业微信) group robot: a webhook that posts into a team's group chat."""

    # errcode values that a later try can fix: rate limit and system busy.
    TEMPORARY_CODES = frozenset({-1, 45009})

    def deliver(self, message: Message) -> None:
        if not message.wecom_webhook:
            raise DeliveryError("no WeCom robot webhook address", permanent=True)
        answer = _post_json(message.wecom_webhook,
                            {"msgtype": "text", "text": {"content": f"{message.subject}\n{message.body}"}})
        code = answer.get("errcode", 0)
        if code:
            raise DeliveryError(f"WeCom errcode {code}: {answer.get('errmsg', '')}",
                                permanent=code not in self.TEMPORARY_CODES)


CHANNELS: dict[str, Transport] = {
    Channel.IN_APP: InAppChannel(),
    Channel.EMAIL: EmailChannel(),
    Channel.SMS: SmsChannel(),
    Channel.WECOM: WeComChannel(),
}
