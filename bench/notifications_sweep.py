"""The outbox sweep's cost as the outbox grows: `deliveries_requeue` with 10k, 100k and 1M delivery rows.

Run from the project root (it creates, migrates and drops its own scratch PostgreSQL database):

    .venv/bin/python bench/notifications_sweep.py                        # 10k, 100k and 1M rows
    .venv/bin/python bench/notifications_sweep.py --sizes 10000,100000   # quicker
    .venv/bin/python bench/notifications_sweep.py --sizes 1000000,5000000 --repeat 100

The outbox grows to each size by COPY: almost every row is sent (1% failed), as in a real outbox after
months; a small fixed set is what the sweep is for, the same at every size: DUE queued rows whose time
has come, STALE `sending` claims older than 10 minutes, and queued rows that are not due yet (a retry's
backoff, and rows younger than the sweep's grace). Celery's broker is `memory://`: nothing is sent.

For each size it prints the time of the sweep's due query (the SELECT of `deliveries_requeue`), of the
whole `deliveries_requeue()` call (stale claims given back and rows handed to Celery, rolled back after
each run so every run sees the same rows), and `EXPLAIN ANALYZE` of both of its statements. The cost
must follow what is due, not the total: the `delivery_due` index on (status, due_at). At the largest
size the due query is run once more without that index, for contrast. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import command_line, load_text, machine_lines, scratch_database, table

USERS = 1000
CHANNELS = ("in_app", "email", "sms", "wecom")
DUE, STALE, NOT_YET_DUE, FRESH = 50, 10, 20, 20
COPY_BATCH = 50_000


def _copy(cursor, table_name: str, columns: Sequence[str], rows) -> None:
    with cursor.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class Outbox:
    """Builds the outbox in the scratch database: people, then events and their deliveries by COPY."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        user_model.objects.bulk_create([user_model(username=f"bench_person_{n}", password="!")
                                        for n in range(USERS)])
        self.user_ids = list(user_model.objects.order_by("pk").values_list("pk", flat=True))
        self.rows = 0
        self.now = dt.datetime.now(dt.UTC)

    def grow_to(self, size: int) -> float:
        """Add sent (and 1% failed) deliveries until the outbox holds `size` bulk rows; seconds taken."""
        from django.db import connection

        started = time.perf_counter()
        connection.ensure_connection()
        raw = connection.connection
        year = dt.timedelta(days=365)
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(max(id), 0) FROM notifications_event")
            last_event = cursor.fetchone()[0]
        while self.rows < size:
            batch = min(COPY_BATCH, size - self.rows)
            # One event per four rows: one person, each channel once (the unique constraint).
            first_event = last_event + 1
            events = (batch + len(CHANNELS) - 1) // len(CHANNELS)
            last_event += events
            with raw.cursor() as cursor:
                event_rows = []
                for n in range(first_event, first_event + events):
                    created = self.now - year + year * (n % 9973) / 9973 - dt.timedelta(minutes=30)
                    event_rows.append((n, "task_assigned", f"bench:{n}", self.user_ids[n % USERS], "", "{}",
                                       created))
                _copy(cursor, "notifications_event",
                      ("id", "kind", "natural_key", "recipient_id", "recipient_role", "payload", "created_at"),
                      event_rows)
                delivery_rows = []
                for k in range(batch):
                    event_id, _kind, _key, recipient, _role, _payload, created = event_rows[k // len(CHANNELS)]
                    number = self.rows + k
                    failed = number % 100 == 99
                    delivery_rows.append((
                        event_id, recipient, CHANNELS[k % len(CHANNELS)], "failed" if failed else "sent",
                        created, None, 1, None if failed else created + dt.timedelta(seconds=3), None,
                        "HTTP 404" if failed else "", created))
                _copy(cursor, "notifications_delivery",
                      ("event_id", "recipient_id", "channel", "status", "due_at", "claimed_at", "attempts",
                       "sent_at", "read_at", "last_error", "created_at"), delivery_rows)
            raw.commit()
            self.rows += batch
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('notifications_event', 'id'), %s)", [last_event])
            cursor.execute("ANALYZE notifications_event")
            cursor.execute("ANALYZE notifications_delivery")
        return time.perf_counter() - started

    def add_work(self) -> None:
        """The rows the sweep exists for, the same at every size (recorded through the ORM, not enqueued)."""
        # Made again before each measurement, so that "10 s ago" and "in 8 min" are relative to that moment.
        from django.utils import timezone

        from notifications.models import Delivery, Event

        Event.objects.filter(natural_key__startswith="bench:work:").delete()
        now = timezone.now()
        specs = ([("queued", now - dt.timedelta(minutes=5), None)] * DUE
                 + [("sending", now - dt.timedelta(minutes=25), now - dt.timedelta(minutes=20))] * STALE
                 + [("queued", now + dt.timedelta(minutes=8), None)] * NOT_YET_DUE  # a retry's backoff
                 + [("queued", now - dt.timedelta(seconds=10), None)] * FRESH)  # its own task is on the way
        for n, (status, due_at, claimed_at) in enumerate(specs):
            event = Event.objects.create(kind="daily_digest", natural_key=f"bench:work:{n}",
                                         recipient_id=self.user_ids[n % USERS])
            Delivery.objects.create(event=event, recipient_id=self.user_ids[n % USERS], channel="email",
                                    status=status, due_at=due_at, claimed_at=claimed_at)


def due_queryset():
    """Exactly the due query of `notifications.services.deliveries_requeue`."""
    from django.utils import timezone

    from notifications.models import Delivery
    from notifications.services import SWEEP_GRACE

    return (Delivery.objects.filter(status=Delivery.Status.QUEUED, due_at__lte=timezone.now() - SWEEP_GRACE)
            .order_by("due_at").values_list("pk", flat=True)[:1000])


def stale_queryset():
    """The rows the sweep's first statement (an UPDATE) gives back, as a SELECT with the same WHERE."""
    from django.utils import timezone

    from notifications.models import Delivery
    from notifications.services import STALE_CLAIM

    return Delivery.objects.filter(status=Delivery.Status.SENDING,
                                   claimed_at__lt=timezone.now() - STALE_CLAIM).order_by().values_list("pk")


def timed(function, repeat: int) -> tuple[float, float, object]:
    """Median and max milliseconds of `repeat` calls, and the last result."""
    samples = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples), result


def stale_update_rolled_back() -> int:
    """The sweep's first statement alone (stale claims back to queued), rolled back."""
    from django.db import transaction
    from django.utils import timezone

    from notifications.models import Delivery
    from notifications.services import STALE_CLAIM

    with transaction.atomic():
        updated = Delivery.objects.filter(status=Delivery.Status.SENDING,
                                          claimed_at__lt=timezone.now() - STALE_CLAIM).update(
            status=Delivery.Status.QUEUED, claimed_at=None)
        transaction.set_rollback(True)
    return updated


def enqueue(ids: list[int]) -> list[int]:
    """Handing rows to Celery alone (`_enqueue`, one `deliver.delay` each, to memory://)."""
    from notifications.services import _enqueue

    _enqueue(ids)
    return ids


def sweep_rolled_back():
    """One `deliveries_requeue()` whose changes are rolled back, so the next run sees the same rows."""
    from django.db import transaction

    from notifications.services import deliveries_requeue

    with transaction.atomic():
        due = deliveries_requeue()
        transaction.set_rollback(True)
    return due


def sizes_of(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_table_size('notifications_delivery')), "
                       "pg_size_pretty(pg_relation_size('delivery_due'))")
        table_size, index_size = cursor.fetchone()
    return f"table {table_size}, index delivery_due {index_size}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="outbox sizes in rows, growing (default 10000,100000,1000000)")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per measurement (default 30)")
    parser.add_argument("--no-contrast", action="store_true",
                        help="skip the run without the delivery_due index at the largest size")
    parser.add_argument("--schema", choices=("auto", "migrate", "models"), default="auto",
                        help="migrate the scratch database, or build it from the models (see bench/README.md)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database for inspection")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    load_at_start = load_text()
    with scratch_database("bench_notif_sweep", keep=args.keep_db, schema=args.schema) as scratch:
        from django.db import connection

        from config.celery import app

        print("== bench/notifications_sweep.py: the outbox sweep (deliveries_requeue) as the outbox grows")
        for line in machine_lines(scratch.name):
            print(line)
        print(f"schema    : {scratch.schema}")
        print(f"broker    : {app.conf.broker_url} (nothing is sent)")
        print(f"work      : the same at every size: {DUE} queued and due, {STALE} stale 'sending' claims (20 min), "
              f"{NOT_YET_DUE} queued for a retry in 8 min, {FRESH} queued 10 s ago (within the sweep's grace)")
        print("bulk rows : 99% sent, 1% failed, 4 channels, created over the last year (COPY)")
        print(f"timing    : median (max) of {args.repeat} runs; the sweep rolled back after each run")
        print(f"command   : {command_line()}")
        print()

        outbox = Outbox()
        rows = []
        explains = []
        for size in sizes:
            seconds = outbox.grow_to(size)
            outbox.add_work()
            print(f"  outbox at {size:,} bulk rows (+{DUE + STALE + NOT_YET_DUE + FRESH} work rows), "
                  f"filled in {seconds:.1f} s; {sizes_of(connection)}", file=sys.stderr)
            list(due_queryset())  # warm the cache
            query_ms, query_max, due = timed(lambda: list(due_queryset()), args.repeat)
            update_ms, update_max, updated = timed(stale_update_rolled_back, args.repeat)
            enqueue_ms, enqueue_max, _ids = timed(lambda: enqueue(list(range(DUE + STALE))), args.repeat)
            sweep_ms, sweep_max, swept = timed(sweep_rolled_back, args.repeat)
            rows.append([f"{size:,}", len(due), updated, len(swept), f"{query_ms:.2f} ({query_max:.2f})",
                         f"{update_ms:.2f} ({update_max:.2f})", f"{enqueue_ms:.1f} ({enqueue_max:.1f})",
                         f"{sweep_ms:.1f} ({sweep_max:.1f})", sizes_of(connection)])
            explains.append((f"{size:,} rows: due query", due_queryset().explain(analyze=True, buffers=True)))
            explains.append((f"{size:,} rows: stale claims (the UPDATE's WHERE, as a SELECT)",
                             stale_queryset().explain(analyze=True, buffers=True)))

        contrast = None
        if not args.no_contrast:
            outbox.add_work()
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX delivery_due")
            try:
                query_ms, query_max, due = timed(lambda: list(due_queryset()), max(3, args.repeat // 5))
                contrast = (f"{sizes[-1]:,}", len(due), f"{query_ms:.2f} ({query_max:.2f})",
                            due_queryset().explain(analyze=True))
            finally:
                with connection.cursor() as cursor:
                    cursor.execute('CREATE INDEX delivery_due ON notifications_delivery ("status", "due_at")')

        print(table(["bulk rows", "due found", "stale back", "handed over", "due query ms", "stale UPDATE ms",
                     f"enqueue {DUE + STALE} ms", "deliveries_requeue() ms", "sizes"], rows))
        print(f"(due found: the due SELECT alone finds the {DUE} due rows; the stale claims are due only after the "
              f"sweep's UPDATE gave them back, so deliveries_requeue() hands {DUE} + {STALE} to Celery. Most of "
              f"its time is publishing those {DUE + STALE} tasks, one `deliver.delay` each, to memory://.)")
        print()
        if contrast:
            print(f"Without the delivery_due index, {contrast[0]} rows: due query {contrast[2]} ms "
                  f"(median (max)), {contrast[1]} found")
            print()
        for title, plan in explains:
            print(f"-- EXPLAIN (ANALYZE, BUFFERS), {title}")
            print(plan)
            print()
        if contrast:
            print(f"-- EXPLAIN ANALYZE, {contrast[0]} rows, due query WITHOUT the delivery_due index")
            print(contrast[3])
            print()
        print(f"load at start: {load_at_start}; at end: {load_text()}")


if __name__ == "__main__":
    main()
