"""Signals other apps listen to; sent inside the transaction of the change, so a receiver can veto it."""

from django.dispatch import Signal

# Sent after an application's transition is saved and audited, inside the same transaction, with
# `application`, `action`, `source`, `target`, `actor`, `comment` and `audit_entry`. A receiver that raises rolls
# the whole transition back (the workflow uses this to keep its open tasks in step with the state).
application_transitioned = Signal()

# Sent inside the payment's transaction with `tranche` and `actor` once a tranche is paid.
tranche_paid = Signal()
