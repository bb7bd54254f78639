"""Two uploads to the same application at the same moment cannot both squeeze under its total limit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from grants import services
from grants.errors import ApplicationError
from grants.models import GrantApplication

from .conftest import MIB, pdf_bytes, stored_files, upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_uploads_racing_for_the_last_room_under_the_total_one_wins(cast, make_application, settings):
    application = make_application()
    settings.ATTACHMENT_MAX_TOTAL_BYTES = application.attachments.get().size + MIB + MIB // 2
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            fresh = GrantApplication.objects.get(pk=application.pk)
            barrier.wait(timeout=10)
            services.attachment_add(actor=cast.applicant, application=fresh, kind="receipt",
                                    file=upload(f"{name}.pdf", pdf_bytes(MIB)))
            outcomes[name] = "ok"
        except Exception as exc:  # the test asserts on what each thread got
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
    losers = [outcome for outcome in outcomes.values() if outcome != "ok"]
    assert len(winners) == 1, outcomes
    assert isinstance(losers[0], ApplicationError) and losers[0].code == "attachments_too_large", outcomes
    receipts = application.attachments.filter(kind="receipt")
    assert list(receipts.values_list("original_name", flat=True)) == [f"{winners[0]}.pdf"]
    assert len(stored_files()) == 2  # the application form and the winner's receipt
