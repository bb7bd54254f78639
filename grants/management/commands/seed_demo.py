"""Seed the pilot's demo data: organisations, one user per role, the fund's gifts and applications in every state."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from grants.demo import USERS, demo_counts, seed_demo
from grants.errors import ApplicationError
from grants.models.organisations import STREET_ROLES

DEFAULT_PASSWORD = "demo"  # config.settings.DEMO_PASSWORD's default


class Command(BaseCommand):
    help = ("Create the pilot's demo data (organisations, users, donations, applications and their money); "
            "running it again adds nothing that already exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = settings.DEMO_PASSWORD
        # The demo makes a superuser called "admin": say loudly when that happens with the well-known password
        # outside development (the tests and CI seed with DEBUG off, so this warns rather than refuses).
        if not settings.DEBUG and password == DEFAULT_PASSWORD:
            self.stderr.write(self.style.WARNING(
                "WARNING: DEBUG is off and the demo users get the default password "
                f"{DEFAULT_PASSWORD!r}, including the superuser \"admin\". Do not do this on a server anyone "
                "else can reach; set DEMO_PASSWORD to something secret."))
        try:
            report = seed_demo(password=password)
        except ApplicationError as exc:
            raise CommandError(f"A service refused a demo step ({exc.code}): {exc.message}") from exc

        for donation in report.donations:
            state = donation.receipt_number or donation.get_status_display()
            self.stdout.write(f"recorded donation {donation.public_name} · {donation.amount} · {state}")
        for application in report.created:
            self.stdout.write(f"created {application.community} · {application.title} · {application.status}")
        if report.skipped:
            self.stdout.write(f"{len(report.skipped)} demo applications already existed and were left alone.")
        if options["verbosity"] > 1:
            for name, count in demo_counts().items():
                self.stdout.write(f"  {name}: {count}")

        pilot = report.pilot
        self.stdout.write(self.style.SUCCESS(f"\nDemo users, all with the password {password!r}:"))
        for spec in USERS:
            user = pilot.users[spec.username]
            if spec.role is None:
                role = "superuser"
            elif spec.communities:
                role = f"{spec.role.label}, {'、'.join(spec.communities)}"
            elif spec.role in STREET_ROLES:
                role = f"{spec.role.label}, {pilot.street_office}"
            else:
                role = f"{spec.role.label}, {pilot.foundation}"
            self.stdout.write(f"  {spec.username:<18} {user.last_name}{user.first_name}\t{role}")
