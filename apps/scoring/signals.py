"""Signals other apps may follow without scoring depending on them."""

from django.dispatch import Signal

# Sent after the transaction that rebuilt some of a rubric's round aggregates commits;
# keyword argument: rubric_id.
aggregates_changed = Signal()
