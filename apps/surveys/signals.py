"""News from the surveys to the apps above them (scoring follows it), so surveys never
imports them. Each signal is sent inside the writing transaction, so a receiver's writes
(scoring records its job there) commit or roll back with the change itself: a submit with
the broker down still leaves its scoring job queued for the sweep."""

from django.dispatch import Signal

# A response was submitted; keyword arguments: response_id, user.
response_submitted = Signal()
# A submitted response became a draft again (its score is withdrawn); response_id, user.
response_reopened = Signal()
# A planned round was opened (its teams are invited); round_id, user.
round_opened = Signal()
# A round was closed; round_id, user.
round_closed = Signal()
# Answers were imported into a round as submitted responses; round_id, user.
answers_imported = Signal()
# A closed round was opened again (its scores no longer define the cohort); round_id, user.
round_reopened = Signal()
