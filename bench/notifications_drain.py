"""Outbox drain rate: 10,000 queued deliveries to a no-op channel drained by 2 Celery worker processes on Redis.

Run from the project root (it creates, migrates and drops its own scratch PostgreSQL database, and needs
Redis; it uses one Redis database, 15 by default, which must be empty, and empties it again at the end):

    .venv/bin/python bench/notifications_drain.py                          # 10,000 rows, two solo workers
    .venv/bin/python bench/notifications_drain.py --pool prefork           # one worker, -c 2
    .venv/bin/python bench/notifications_drain.py --db-reuse-max 1000         # workers keep their DB connection
    .venv/bin/python bench/notifications_drain.py --deliveries 50000 --workers 4 --max-seconds 0

1. 10,000 events (a daily digest each, to 100 people) and their in-app delivery rows, bulk-created, queued
   and due: the in-app channel does nothing but mark the row sent, so what is measured is the outbox's
   own path: claim (conditional UPDATE), load the row, render the message in the person's language,
   mark it sent.
2. One `notifications.deliver` task per row is published to Redis (timed), before any worker runs.
3. The workers start (`celery -A config worker --pool solo -c 1 -Q celery` twice, or `--pool prefork -c 2`,
   with the project's settings: acks_late, prefetch 1) and drain the queue; the database is polled until
   every row is sent.
4. Rate = rows / (last sent_at - first sent_at): worker start-up is not counted. A run stops after
   `--max-seconds` (150 by default) and takes the rate over the rows sent by then. Figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, command_line, counting, load_text, machine_lines, scratch_database, table

PEOPLE = 100
TIMEOUT = 600  # seconds: give up waiting for the workers after this long


def use_broker(url: str) -> None:
    """Point this process's Celery app at `url` (Celery reads CELERY_BROKER_URL from the environment first)."""
    from config.celery import app

    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = app.conf.broker_read_url = app.conf.broker_write_url = url
    app.conf.broker_transport_options = {}
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


def make_outbox(count: int, extra: int) -> tuple[list[int], list[int]]:
    """`count` queued in-app deliveries (one event each), and `extra` more for the in-process measurement."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from notifications.models import Delivery, Event, MessageType

    user_model = get_user_model()
    user_model.objects.bulk_create([user_model(username=f"bench_person_{n}", password="!") for n in range(PEOPLE)])
    people = list(user_model.objects.order_by("pk").values_list("pk", flat=True))
    now = timezone.now() - dt.timedelta(seconds=1)
    events = Event.objects.bulk_create([
        Event(kind=MessageType.DAILY_DIGEST, natural_key=f"bench:digest:{n}", recipient_id=people[n % PEOPLE],
              payload={"count": n % 7 + 1}) for n in range(count + extra)], batch_size=2000)
    Delivery.objects.bulk_create([Delivery(event=event, recipient_id=event.recipient_id, channel="in_app",
                                           due_at=now) for event in events], batch_size=2000)
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    return ids[:count], ids[count:]


# Starts `celery worker` with CELERY_DB_REUSE_MAX set (a Celery setting the project does not set): without
# it, Celery's Django fixup closes the database connection before and after every task.
REUSE_BOOT = ("import os, sys; from config.celery import app; "
              "app.conf.update(CELERY_DB_REUSE_MAX=int(os.environ['BENCH_DB_REUSE_MAX'])); "
              "app.worker_main(sys.argv[1:])")


def start_workers(pool: str, workers: int, log_dir: Path, db_reuse_max: int | None) -> list[subprocess.Popen]:
    common = ["-Q", "celery", "-l", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    if db_reuse_max is None:
        celery = [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker"]
        env = dict(os.environ)
    else:
        celery = [sys.executable, "-c", REUSE_BOOT, "worker"]
        env = {**os.environ, "BENCH_DB_REUSE_MAX": str(db_reuse_max), "PYTHONPATH": str(ROOT)}
    if pool == "solo":
        commands = [[*celery, *common, "--pool", "solo", "-c", "1", "-n", f"drain{n}@%h"] for n in range(workers)]
    else:
        commands = [[*celery, *common, "--pool", "prefork", "-c", str(workers), "-n", "drain@%h"]]
    processes = []
    for n, command in enumerate(commands):
        with (log_dir / f"worker{n}.log").open("w") as log:
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
    return processes


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", "-n", type=int, default=10_000, help="rows to drain (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--pool", choices=("solo", "prefork"), default="solo",
                        help="solo: that many `--pool solo` workers (default); prefork: one worker with -c N")
    parser.add_argument("--db-reuse-max", type=int, default=None,
                        help="start the workers with CELERY_DB_REUSE_MAX=N (keep the database connection for N "
                             "tasks); default: the project's settings, where Celery reconnects for every task")
    parser.add_argument("--max-seconds", type=float, default=150,
                        help="stop the workers after this long even if rows are left (the rate is taken over "
                             "what was sent); 0: wait for every row (default 150, to keep a run near 3 minutes)")
    parser.add_argument("--in-process", type=int, default=200,
                        help="rows first sent by calling delivery_attempt in this process, for comparison (200)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15",
                        help="an EMPTY Redis database for the queue (default redis://127.0.0.1:6379/15)")
    parser.add_argument("--schema", choices=("auto", "migrate", "models"), default="auto",
                        help="migrate the scratch database, or build it from the models (see bench/README.md)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database for inspection")
    args = parser.parse_args(argv)

    import redis

    queue_db = redis.Redis.from_url(args.redis_url)
    if queue_db.dbsize():
        sys.exit(f"{args.redis_url} is not empty ({queue_db.dbsize()} keys): choose another with --redis-url")

    load_at_start = load_text()
    processes: list[subprocess.Popen] = []
    with scratch_database("bench_notif_drain", keep=args.keep_db, schema=args.schema) as scratch:
        try:
            from django.db import connection
            from django.db.models import Max, Min

            from notifications.models import Delivery
            from notifications.services import delivery_attempt
            from notifications.tasks import deliver

            use_broker(args.redis_url)
            started = time.perf_counter()
            ids, probes = make_outbox(args.deliveries, args.in_process + 1)
            made = time.perf_counter() - started
            with counting() as queries:
                delivery_attempt(delivery_id=probes[0])
            # The floor: the same attempts called in this process, one after the other (no Celery, no Redis).
            started = time.perf_counter()
            for pk in probes[1:]:
                delivery_attempt(delivery_id=pk)
            in_process_ms = 1000 * (time.perf_counter() - started) / max(args.in_process, 1)
            connection.close()  # the workers get the database to themselves

            started = time.perf_counter()
            for pk in ids:
                deliver.delay(pk)
            published = time.perf_counter() - started
            queued = queue_db.llen("celery")

            log_dir = Path(os.environ.get("TMPDIR", "/tmp"), f"bench_notif_drain_{os.getpid()}")
            log_dir.mkdir(exist_ok=True)
            started = time.perf_counter()
            processes = start_workers(args.pool, args.workers, log_dir, args.db_reuse_max)
            unsent = Delivery.objects.filter(status__in=["queued", "sending"])  # on the delivery_due index
            patience = args.max_seconds or TIMEOUT
            while time.perf_counter() - started < patience:
                if not unsent.exists():
                    break
                if any(p.poll() is not None for p in processes):
                    sys.exit(f"a worker exited early; see {log_dir}")
                time.sleep(0.1)
            wall = time.perf_counter() - started
            stop_workers(processes)
            processes = []

            span = Delivery.objects.filter(pk__in=ids).aggregate(first=Min("sent_at"), last=Max("sent_at"))
            sent = Delivery.objects.filter(pk__in=ids, status="sent").count()
            attempts = Delivery.objects.filter(pk__in=ids).aggregate(most=Max("attempts"))["most"]
            seconds = (span["last"] - span["first"]).total_seconds() if span["last"] else float("nan")
            rate = (sent - 1) / seconds if seconds else float("nan")

            print("== bench/notifications_drain.py: draining the outbox with real Celery workers on Redis")
            for line in machine_lines(scratch.name):
                print(line)
            print(f"schema    : {scratch.schema}")
            print(f"broker    : {args.redis_url} (Redis {queue_db.info('server')['redis_version']})")
            print(f"workers   : {args.workers} x `--pool solo -c 1`" if args.pool == "solo"
                  else f"workers   : 1 x `--pool prefork -c {args.workers}`")
            print("settings  : acks_late, prefetch multiplier 1, log level WARNING; database connection "
                  + ("closed and opened again around every task (Celery's Django fixup; CELERY_DB_REUSE_MAX unset)"
                     if args.db_reuse_max is None else f"kept for {args.db_reuse_max} tasks (CELERY_DB_REUSE_MAX, "
                     "set for this run only)"))
            print("channel   : in-app (does nothing): claim + load + render + mark sent, per row")
            print(f"command   : {command_line()}")
            print()
            print(table(["measure", "value"], [
                ["rows (queued, due)", f"{len(ids):,}"],
                ["rows made (bulk_create)", f"{made:.1f} s"],
                ["tasks published to Redis", f"{queued:,} in {published:.2f} s ({len(ids) / published:,.0f}/s)"],
                ["rows sent", f"{sent:,} (most attempts on one row: {attempts})"
                 + ("" if sent == len(ids) else f"; stopped after {args.max_seconds:.0f} s (--max-seconds)")],
                ["first to last sent_at", f"{seconds:.2f} s"],
                ["deliveries/s", f"{rate:,.0f}"],
                ["per delivery, per worker", f"{1000 * args.workers / rate:.1f} ms" if rate == rate else "n/a"],
                ["wall time, workers started to done", f"{wall:.1f} s (start-up included)"],
                ["SQL statements per delivery", f"{queries.count} (measured in this process, one row)"],
                ["delivery_attempt in this process", f"{in_process_ms:.1f} ms each ({args.in_process} rows, one "
                                                     "after the other: the floor without Celery and Redis)"],
            ]))
            print()
            print(f"load at start: {load_at_start}; at end: {load_text()}")
        finally:
            stop_workers(processes)
            queue_db.flushdb()


if __name__ == "__main__":
    main()
