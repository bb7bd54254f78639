"""The sweeps' cost as the tables grow: the outbox sweep and the report reminder sweep at 10k, 100k and 1M rows.

Run from the project root (it creates, migrates and drops its own scratch PostgreSQL database):

    .venv/bin/python bench/notifications_sweep.py                        # 10k, 100k and 1M rows
    .venv/bin/python bench/notifications_sweep.py --sizes 10000,100000   # quicker
    .venv/bin/python bench/notifications_sweep.py --sizes 1000000,5000000 --repeat 100
    .venv/bin/python bench/notifications_sweep.py --sweeps reports      # only the report reminder sweep

The outbox grows to each size by COPY: almost every row is sent (1% failed), as in a real outbox after
months; a small fixed set is what the sweep is for, the same at every size: DUE queued rows whose time
has come, STALE `sending` claims older than 10 minutes, and queued rows that are not due yet (a retry's
backoff, and rows younger than the sweep's grace). Celery's broker is `memory://`: nothing is sent.

For each size it prints the time of the sweep's due query (the SELECT of `deliveries_requeue`), of the
whole `deliveries_requeue()` call (stale claims given back and rows handed to Celery, rolled back after
each run so every run sees the same rows), and `EXPLAIN ANALYZE` of both of its statements. The cost
must follow what is due, not the total: the `delivery_due` index on (status, due_at). At the largest
size the due query is run once more without that index, for contrast. Figures only; nothing is asserted.

The report reminder sweep (`notifications.reminders.report_reminders_record`) runs over projects: at each
size 30% are in progress and owe their next report 30 days to two years ahead, 70% are closed and owe
nothing (INSERT ... SELECT from one template row). The same small set is what it is for: 50 projects
owing a report in 7 days, 50 in 1 day, 100 late by 1-100 days. It prints the time of its two reads
(projects by the indexed `next_report_due_on`, their progress reports), of a first sweep (300 reminders
recorded, rolled back) and of a rerun (everything already recorded), with `EXPLAIN ANALYZE`; at the largest
size the projects query once more without the `next_report_due_on` index.
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

from bench.common import command_line, counting, load_text, machine_lines, scratch_database, table

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


# --- The report reminder sweep --------------------------------------------------------------------------

DUE_IN_7, DUE_IN_1, LATE = 50, 50, 100


class Projects:
    """Projects copied from one template row by INSERT ... SELECT over generate_series (fast at 1M)."""

    def __init__(self) -> None:
        from bench.common import bulk_applications, make_cast
        from grants.models import GrantApplication, ProgressReport

        cast = make_cast(communities_per_street=8)
        (self.template,) = bulk_applications(cast, 1, status="in_progress")
        self.template_report = ProgressReport.objects.create(application_id=self.template, number=1,
                                                             due_on=dt.date(2030, 6, 1)).pk
        self.columns = [f.column for f in GrantApplication._meta.concrete_fields if not f.primary_key]
        self.report_columns = [f.column for f in ProgressReport._meta.concrete_fields if not f.primary_key]
        self.rows = 0

    def _insert(self, count: int, title: str, status: str, due: str, params: list) -> None:
        """`count` projects (n = 1..count in SQL) and a progress report due on the project's next date."""
        from django.db import connection

        values = {"title": f"'{title} ' || n", "status": f"'{status}'", "next_report_due_on": "due",
                  "completion_due_on": "due + 180"}
        selected = ", ".join(values.get(c, f"t.{c}") for c in self.columns)
        report_values = {"application_id": "a.id", "due_on": "a.next_report_due_on"}
        report_selected = ", ".join(report_values.get(c, f"r.{c}") for c in self.report_columns)
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM grants_grantapplication")
            after = cursor.fetchone()[0]
            cursor.execute(f"INSERT INTO grants_grantapplication ({', '.join(self.columns)}) SELECT {selected} "
                           f"FROM grants_grantapplication t, (SELECT n, ({due})::date AS due "
                           f"FROM generate_series(1, %s) n) g WHERE t.id = %s", [*params, count, self.template])
            cursor.execute(f"INSERT INTO grants_progressreport ({', '.join(self.report_columns)}) "
                           f"SELECT {report_selected} FROM grants_grantapplication a, grants_progressreport r "
                           f"WHERE r.id = %s AND a.id > %s AND a.next_report_due_on IS NOT NULL",
                           [self.template_report, after])

    def grow_to(self, size: int, today: dt.date) -> float:
        """Add bulk projects until there are `size`; seconds taken."""
        from django.db import connection

        started = time.perf_counter()
        while self.rows < size:
            batch = min(200_000, size - self.rows)
            in_progress = batch * 3 // 10
            self._insert(in_progress, "基准项目", "in_progress", "%s::date + 30 + (n %% 700)", [today])
            self._insert(batch - in_progress, "已结项目", "closed", "NULL", [])
            self.rows += batch
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE grants_grantapplication")
            cursor.execute("ANALYZE grants_progressreport")
        return time.perf_counter() - started

    def add_work(self, today: dt.date) -> None:
        """The projects the sweep exists for, the same at every size."""
        self._insert(DUE_IN_7, "work due in 7", "in_progress", "%s::date + 7", [today])
        self._insert(DUE_IN_1, "work due in 1", "in_progress", "%s::date + 1", [today])
        self._insert(LATE, "work late", "in_progress", "%s::date - n", [today])


def reports_bench(args: argparse.Namespace, sizes: list[int]) -> None:
    """Time the report reminder sweep's reads, a first sweep and a rerun at each size; print plans."""
    from django.db import connection, transaction
    from django.utils import timezone

    from notifications.models import Event
    from notifications.reminders import (
        REPORT_DUE_LEAD_DAYS,
        progress_reports_owing,
        projects_owing,
        report_reminders_record,
    )

    today = timezone.localdate()
    until = today + dt.timedelta(days=max(REPORT_DUE_LEAD_DAYS))

    def first_sweep_rolled_back() -> int:
        with transaction.atomic():
            recorded = report_reminders_record()
            transaction.set_rollback(True)
        return recorded

    projects = Projects()
    projects.add_work(today)
    rows, explains = [], []
    for size in sizes:
        seconds = projects.grow_to(size, today)
        print(f"  {size:,} bulk projects, filled in {seconds:.1f} s", file=sys.stderr)
        Event.objects.filter(natural_key__startswith="report_").delete()
        list(projects_owing(until))  # warm the cache
        read_ms, read_max, owing = timed(lambda: list(projects_owing(until)), args.repeat)
        ids = [application.pk for application in owing]
        reports_ms, reports_max, owed = timed(lambda ids=ids: list(progress_reports_owing(ids, until)), args.repeat)
        first_ms, first_max, recorded = timed(first_sweep_rolled_back, max(3, args.repeat // 5))
        with counting() as first_queries:
            report_reminders_record()  # committed: the reruns find everything recorded
        rerun_ms, rerun_max, again = timed(report_reminders_record, args.repeat)
        with counting() as rerun_queries:
            report_reminders_record()
        rows.append([f"{size:,}", len(owing), len(owed), recorded, again, f"{read_ms:.2f} ({read_max:.2f})",
                     f"{reports_ms:.2f} ({reports_max:.2f})", f"{first_ms:.0f} ({first_max:.0f})",
                     first_queries.count, f"{rerun_ms:.2f} ({rerun_max:.2f})", rerun_queries.count])
        explains.append((f"{size:,} projects: projects owing a report by {until}",
                         projects_owing(until).explain(analyze=True, buffers=True)))
        explains.append((f"{size:,} projects: their progress reports",
                         progress_reports_owing(ids, until).explain(analyze=True, buffers=True)))

    if not args.no_contrast:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'grants_grantapplication' "
                           "AND indexdef LIKE '%%(next_report_due_on)%%'")
            (name, definition), = cursor.fetchall()
            cursor.execute(f'DROP INDEX "{name}"')
        try:
            ms, most, owing = timed(lambda: list(projects_owing(until)), max(3, args.repeat // 5))
            explains.append((f"{sizes[-1]:,} projects WITHOUT the next_report_due_on index: {ms:.2f} ({most:.2f}) ms",
                             projects_owing(until).explain(analyze=True)))
        finally:
            with connection.cursor() as cursor:
                cursor.execute(definition)

    print(f"== the report reminder sweep: {DUE_IN_7} projects owing a report in 7 days, {DUE_IN_1} in 1 day, "
          f"{LATE} late by 1-{LATE} days; bulk: 30% in progress (next report 30-730 days ahead), 70% closed")
    print(table(["bulk projects", "owing", "progress due", "1st sweep records", "rerun records",
                 "projects query ms", "reports query ms", "1st sweep ms", "1st queries", "rerun ms",
                 "rerun queries"], rows))
    print(f"(a first sweep records {DUE_IN_7 + DUE_IN_1} due reminders for the applicants and {LATE} x 2 late "
          "ones for the applicants and the programme officers, with their in-app deliveries; a rerun records "
          "nothing: three reads.)")
    print()
    for title, plan in explains:
        print(f"-- EXPLAIN ANALYZE, {title}")
        print(plan)
        print()


def outbox_bench(args: argparse.Namespace, sizes: list[int]) -> None:
    """Time the outbox sweep's queries and the whole `deliveries_requeue()` at each size; print plans."""
    from django.db import connection

    print("== the outbox sweep (deliveries_requeue) as the outbox grows")
    print(f"work      : the same at every size: {DUE} queued and due, {STALE} stale 'sending' claims (20 min), "
          f"{NOT_YET_DUE} queued for a retry in 8 min, {FRESH} queued 10 s ago (within the sweep's grace)")
    print("bulk rows : 99% sent, 1% failed, 4 channels, created over the last year (COPY)")
    print(f"timing    : median (max) of {args.repeat} runs; the sweep rolled back after each run")
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="outbox rows and projects, growing (default 10000,100000,1000000)")
    parser.add_argument("--sweeps", default="outbox,reports",
                        help="which sweeps to measure: outbox, reports or both (default outbox,reports)")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per measurement (default 30)")
    parser.add_argument("--no-contrast", action="store_true",
                        help="skip the runs without the due indexes at the largest size")
    parser.add_argument("--schema", choices=("auto", "migrate", "models"), default="auto",
                        help="migrate the scratch database, or build it from the models (see bench/README.md)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database for inspection")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    sweeps = set(args.sweeps.split(","))

    load_at_start = load_text()
    with scratch_database("bench_notif_sweep", keep=args.keep_db, schema=args.schema) as scratch:
        from config.celery import app

        print("== bench/notifications_sweep.py: the sweeps as their tables grow")
        for line in machine_lines(scratch.name):
            print(line)
        print(f"schema    : {scratch.schema}")
        print(f"broker    : {app.conf.broker_url} (nothing is sent)")
        print(f"command   : {command_line()}")
        print()
        if "outbox" in sweeps:
            outbox_bench(args, sizes)
        if "reports" in sweeps:
            reports_bench(args, sizes)
        print(f"load at start: {load_at_start}; at end: {load_text()}")


if __name__ == "__main__":
    main()
