"""Survey rounds, each product's response to a round, and its answers.

Besides the constraints declared here, database triggers (migration 0002) enforce the
cross-table invariants of an answer: its question belongs to the rubric version of its
round, its value is a level of that version's scale, and N/A is used only where allowed.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.rubrics.models import SCORE_FIELD

round_key_validator = RegexValidator(
    r"^[0-9A-Za-z][0-9A-Za-z._-]*$",
    _("Use letters, digits, dots, hyphens or underscores, e.g. 2021-10."),
)


class SurveyRound(models.Model):
    class State(models.TextChoices):
        PLANNED = "planned", _("Planned")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    key = models.CharField(_("key"), max_length=32, unique=True, validators=[round_key_validator])
    title = models.CharField(_("title"), max_length=200)
    rubric_version = models.ForeignKey(
        "rubrics.RubricVersion",
        on_delete=models.PROTECT,
        related_name="rounds",
        verbose_name=_("rubric version"),
    )
    # The version's rubric, copied (by save) so the database can hold "at most one open
    # round per rubric" as a partial unique index.
    rubric = models.ForeignKey(
        "rubrics.Rubric", on_delete=models.PROTECT, related_name="rounds", editable=False
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PLANNED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["opens_at", "key"]
        verbose_name = _("survey round")
        verbose_name_plural = _("survey rounds")
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")),
                name="surveyround_closes_after_opens",
                violation_error_message=_("A round must close after it opens."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=["planned", "open", "closed"]), name="surveyround_state_valid"
            ),
            models.UniqueConstraint(
                fields=["rubric"],
                condition=Q(state="open"),
                name="surveyround_one_open_per_rubric",
                violation_error_message=_("Another round of this rubric is open."),
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def save(self, *args, **kwargs):
        if self.rubric_version_id is not None:
            self.rubric_id = self.rubric_version.rubric_id
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "rubric"}
        super().save(*args, **kwargs)


class RoundEvent(models.Model):
    """A round's state or deadline changed: who, when, why (the services write these)."""

    class Action(models.TextChoices):
        OPENED = "opened", _("Opened")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        EXTENDED = "extended", _("Deadline changed")

    round = models.ForeignKey(SurveyRound, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    closes_at = models.DateTimeField(_("deadline after"))
    reason = models.TextField(_("reason"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("round event")
        verbose_name_plural = _("round events")

    def __str__(self) -> str:
        return f"{self.round_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class Response(models.Model):
    """One product's assessment in one round."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    round = models.ForeignKey(SurveyRound, on_delete=models.PROTECT, related_name="responses")
    product = models.ForeignKey(
        "products.Product", on_delete=models.PROTECT, related_name="responses"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["round", "product__name"]
        permissions = [("reopen_response", _("Can reopen a submitted response"))]
        constraints = [
            models.UniqueConstraint(fields=["round", "product"], name="response_one_per_round"),
            models.CheckConstraint(
                condition=Q(status="draft", submitted_at__isnull=True)
                | Q(status="submitted", submitted_at__isnull=False),
                name="response_submitted_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} @ {self.round}"


class Answer(models.Model):
    """An answer to one question: a scale value, or N/A, with evidence.

    `revision` grows with every save so a client can tell that its copy is stale.
    """

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(
        "rubrics.Question", on_delete=models.PROTECT, related_name="answers"
    )
    value = models.DecimalField(null=True, blank=True, **SCORE_FIELD)
    not_applicable = models.BooleanField(default=False)
    # Why the question does not apply: N/A lifts a rescaled area score, so it is justified.
    not_applicable_reason = models.TextField(_("reason for N/A"), blank=True)
    evidence = models.TextField(blank=True)
    evidence_url = models.URLField(max_length=500, blank=True)
    revision = models.PositiveIntegerField(default=1)
    # Copied by prefill from this round's answer and not confirmed by the team yet (null:
    # answered or confirmed here). A response with such answers cannot be submitted.
    carried_over_from = models.ForeignKey(
        SurveyRound,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("carried over from"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["response", "question__area__order", "question__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="answer_one_per_question"
            ),
            models.CheckConstraint(
                condition=Q(not_applicable=False) | Q(value__isnull=True),
                name="answer_na_has_no_value",
                violation_error_message=_("An answer is either a value or N/A, not both."),
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0), name="answer_value_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(not_applicable=False) | ~Q(not_applicable_reason=""),
                name="answer_na_has_reason",
                violation_error_message=_("An N/A answer needs a reason."),
            ),
        ]

    def __str__(self) -> str:
        shown = "N/A" if self.not_applicable else self.value
        return f"{self.question_id}={shown}"

    @property
    def is_answered(self) -> bool:
        return self.not_applicable or self.value is not None
