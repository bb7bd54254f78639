"""Checks every fund's ledger: the hash chain, the numbering, the running totals and the balance row."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from grants.models import Fund
from grants.selectors import ledger_problems


class Command(BaseCommand):
    """`manage.py verify_ledger [--fund CODE]`: exits non-zero and lists the problems when anything is off."""

    help = "Verify the ledger's hash chain and recompute its balances from scratch."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fund", help="the code of one fund (default: every fund)")

    def handle(self, *args, fund: str | None = None, **options) -> None:
        funds = Fund.objects.filter(code=fund) if fund else Fund.objects.all()
        if fund and not funds.exists():
            raise CommandError(f"No fund with the code {fund!r}.")
        broken = 0
        for each in funds.order_by("pk"):
            problems = ledger_problems(each)
            count = each.ledger_entries.count()
            if problems:
                broken += 1
                self.stderr.write(self.style.ERROR(f"{each.code}: {len(problems)} problem(s) in {count} entries"))
                for problem in problems:
                    self.stderr.write(f"  {problem}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{each.code}: {count} entries, chain and balances verified"))
        if broken:
            raise CommandError(f"{broken} fund ledger(s) failed verification.")
