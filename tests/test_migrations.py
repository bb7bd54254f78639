"""The migrations describe the models exactly, whatever the interpreter's hash seed."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_have_no_changes_missing_from_migrations():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # makemigrations --check exits with 1 when a migration is missing
        pytest.fail(f"makemigrations --check found changes without a migration:\n{out.getvalue()}")
        raise AssertionError from exc
