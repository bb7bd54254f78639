"""Ledger at scale: statement and balance with 1,000,000 entries, and approvals per second under contention.

    .venv/bin/python bench/ledger.py                       # 1,000,000 entries, 4 approvers x 40 approvals
    .venv/bin/python bench/ledger.py --entries 100000 --approvals 20

Prints figures; asserts nothing. Needs PostgreSQL at 127.0.0.1:5432 (trust, user root).

1. A scratch database with one fund and N ledger entries (a valid hash chain with running totals,
   written with COPY), spread over five years.
2. Times `fund_balance` and `fund_statement` for random periods (p50/p95/max over 200 calls), and
   prints the statement query's plan.
3. Walks applications to `approval` through the real services, then lets 4 processes approve them at
   once (each approval locks the fund's balance row, commits money and writes the ledger), and
   compares that rate with the same row lock + insert done in plain SQL by 4 processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import multiprocessing as mp
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import command_line, machine_lines, scratch_database

TOTAL_FIELDS = ("received_total", "fees_total", "committed_total", "paid_total", "returned_total", "available")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fill_ledger(fund, entries: int) -> None:
    """Write a valid chain of `entries` donations and fees with COPY (the services would take hours)."""
    from django.db import connection

    from grants.models import FundBalance
    from grants.services.ledger import EFFECTS, entry_hash

    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(days=5 * 365) / entries
    totals = dict.fromkeys(TOTAL_FIELDS, Decimal("0.00"))
    prev = "0" * 64
    buffer = io.StringIO()
    rng = random.Random(7)
    for seq in range(1, entries + 1):
        kind = "management_fee" if seq % 50 == 0 else "donation_received"
        amount = Decimal(rng.randint(100, 50_000)).quantize(Decimal("0.01"))
        if kind == "management_fee":
            amount = min(amount, totals["available"] // 10 or Decimal("1.00"))
        effect = EFFECTS[kind]
        totals["received_total"] += effect.received * amount
        totals["fees_total"] += effect.fees * amount
        totals["available"] += effect.available * amount
        created = start + step * seq
        digest = entry_hash(prev_hash=prev, fund_id=fund.pk, seq=seq, kind=kind, amount=amount, application_id=None,
                            donation_id=None, tranche_id=None, actor_id=None, memo="", created_at=created)
        buffer.write("\t".join([str(fund.pk), str(seq), kind, str(amount), "", created.isoformat(),
                                *(str(totals[name]) for name in TOTAL_FIELDS), prev, digest]) + "\n")
        prev = digest
    buffer.seek(0)
    columns = ("fund_id", "seq", "kind", "amount", "memo", "created_at", *TOTAL_FIELDS, "prev_hash", "hash")
    with connection.cursor() as cursor, cursor.copy(
            f"COPY grants_ledgerentry ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)
    FundBalance.objects.filter(fund=fund).update(last_seq=entries, last_hash=prev, **totals)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grants_ledgerentry")


def time_reads(fund, calls: int) -> list[str]:
    from django.db import connection

    from grants.selectors import fund_balance, fund_statement

    rng = random.Random(11)
    lines = []
    for label, call in (
        ("fund_balance (available)", lambda: fund_balance(fund)),
        ("fund_statement (random period)", lambda: fund_statement(
            fund, start=dt.date(2021, 1, 1) + dt.timedelta(days=(d := rng.randint(0, 1700))),
            end=dt.date(2021, 1, 1) + dt.timedelta(days=d + rng.randint(1, 200)))),
    ):
        call()  # warm
        times = []
        for _ in range(calls):
            began = time.perf_counter()
            call()
            times.append((time.perf_counter() - began) * 1000)
        lines.append(f"{label:34} p50 {statistics.median(times):6.2f} ms  p95 {percentile(times, .95):6.2f} ms  "
                     f"max {max(times):6.2f} ms  ({calls} calls)")
    from django.db.models import Q, Subquery

    from grants.models import LedgerEntry

    entries = LedgerEntry.objects.filter(fund=fund)
    latest = ("-created_at", "-seq")
    before = entries.filter(created_at__lt=dt.datetime(2023, 1, 1, tzinfo=dt.UTC)).order_by(*latest).values("seq")[:1]
    until = entries.filter(created_at__lt=dt.datetime(2023, 7, 1, tzinfo=dt.UTC)).order_by(*latest).values("seq")[:1]
    query = entries.filter(Q(seq=Subquery(before)) | Q(seq=Subquery(until)))
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        lines += ["", "statement query plan:"] + ["  " + row[0] for row in cursor.fetchall()]
    return lines


def prepare_approvals(count: int) -> tuple[list[int], int, int]:
    """Applications waiting at `approval` (walked through the real services), the approver and the fund."""
    from django.contrib.auth import get_user_model

    from bench.common import bulk_applications, make_cast
    from grants import services
    from grants.models import GrantApplication

    cast = make_cast()
    users = {user.pk: user for user in get_user_model().objects.all()}
    ids = bulk_applications(cast, count)
    for application in GrantApplication.objects.filter(pk__in=ids):
        def who(role: str, application=application):
            return users[cast.user_id(role, application.community_id)]
        services.application_submit(actor=who("applicant"), application=application)
        services.application_confirm(actor=who("community_head"), application=application)
        services.application_street_approve(actor=who("street_reviewer"), application=application)
        services.application_street_sign_off(actor=who("street_leader"), application=application)
        services.application_foundation_recommend(actor=who("programme_officer"), application=application, score=80,
                                                  recommended_amount=application.requested_amount)
    return ids, cast.foundation_users["secretary_general"], cast.fund_id


def approve_worker(ids: list[int], sg_id: int, barrier, results) -> None:
    import django
    from django.db import connection

    django.setup()
    from django.contrib.auth import get_user_model

    from grants import services
    from grants.errors import ApplicationError
    from grants.models import GrantApplication

    actor = get_user_model().objects.get(pk=sg_id)
    barrier.wait()
    began, done, refused = time.perf_counter(), 0, 0
    for pk in ids:
        try:
            services.application_approve(actor=actor, application=GrantApplication.objects.get(pk=pk))
            done += 1
        except ApplicationError:
            refused += 1
    results.put((done, refused, time.perf_counter() - began))
    connection.close()


def raw_worker(count: int, fund_id: int, barrier, results) -> None:
    import django
    from django.db import connection, transaction

    django.setup()
    barrier.wait()
    began = time.perf_counter()
    for _ in range(count):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT last_seq, available FROM grants_fundbalance WHERE fund_id = %s FOR UPDATE",
                           [fund_id])
            seq, available = cursor.fetchone()
            cursor.execute(
                "INSERT INTO grants_ledgerentry (fund_id, seq, kind, amount, memo, created_at, received_total, "
                "fees_total, committed_total, paid_total, returned_total, available, prev_hash, hash) "
                "VALUES (%s, %s, 'commitment', 1, '', now(), 0, 0, 0, 0, 0, %s, '', md5(random()::text) "
                "|| md5(random()::text))", [fund_id, seq + 1, available - 1])
            cursor.execute("UPDATE grants_fundbalance SET last_seq = %s, available = available - 1 "
                           "WHERE fund_id = %s", [seq + 1, fund_id])
    results.put((count, 0, time.perf_counter() - began))
    connection.close()


def run_parallel(target, shares: list[tuple]) -> tuple[int, int, float]:
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(len(shares)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*share, barrier, results)) for share in shares]
    for proc in procs:
        proc.start()
    outcomes = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    return sum(o[0] for o in outcomes), sum(o[1] for o in outcomes), max(o[2] for o in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--approvals", type=int, default=40, help="approvals per approver process")
    parser.add_argument("--approvers", type=int, default=4)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    with scratch_database("bench_ledger", keep=args.keep_db) as scratch:
        from django.db import connections

        from grants.models import Fund

        print("\n".join(machine_lines(scratch.name)))
        print(f"command: {command_line()}\n")
        from grants.models import Foundation

        foundation = Foundation.objects.create(name="贵州省红十字基金会（台账压测）")
        fund = Fund.objects.create(foundation=foundation, name="贵州省红十字基金会（台账压测）社区公益基金",
                                   code="bench-ledger")
        began = time.perf_counter()
        fill_ledger(fund, args.entries)
        print(f"wrote {args.entries:,} ledger entries in {time.perf_counter() - began:.1f} s\n")
        print("\n".join(time_reads(fund, args.calls)))

        began = time.perf_counter()
        ids, approver_id, fund_id = prepare_approvals(args.approvals * args.approvers)
        print(f"\nwalked {len(ids)} applications to approval in {time.perf_counter() - began:.1f} s")
        connections.close_all()
        shares = [(ids[n::args.approvers], approver_id) for n in range(args.approvers)]
        done, refused, seconds = run_parallel(approve_worker, shares)
        print(f"\n{'approvals (services, ' + str(args.approvers) + ' processes)':42} {done / seconds:8.1f} /s  "
              f"({done} approved, {refused} refused, {seconds:.2f} s)")
        connections.close_all()
        done, _, seconds = run_parallel(raw_worker, [(args.approvals, fund_id)] * args.approvers)
        print(f"{'row lock + insert (plain SQL, ' + str(args.approvers) + ' processes)':42} {done / seconds:8.1f} /s  "
              f"({done} in {seconds:.2f} s)")


if __name__ == "__main__":
    main()
