"""Stored scores: one row per scored response, aggregates per round and population, and the
state of scoring jobs (kept in the database so a lost or killed job can be restarted)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.rubrics.models import SCORE_FIELD


class ResponseScore(models.Model):
    """The score of one submitted, complete response under its round's rubric version."""

    response = models.OneToOneField(
        "surveys.Response", on_delete=models.CASCADE, related_name="score"
    )
    # Copies of the response's round and product and of the version's parts, for fast reads.
    # Only the scoring service writes them, from the response itself, so the database checks
    # the response's key and not these: their deferred checks doubled a round's commit time.
    round = models.ForeignKey(
        "surveys.SurveyRound",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the (round, product) index serves it; every index slows a recompute
    )
    product = models.ForeignKey(
        "products.Product", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    rubric_version = models.ForeignKey(
        "rubrics.RubricVersion",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # The rule used, copied so a score explains itself.
    area_aggregation = models.CharField(max_length=10)
    not_applicable_policy = models.CharField(max_length=10)
    overall_rule = models.CharField(max_length=10)
    area_scores = models.JSONField(help_text="area key → score as a decimal string, or null")
    # Shown beside each area's score ("4.08 / 7 · 1 N/A, rescaled"), written in the same pass.
    area_not_applicable = models.JSONField(
        default=dict, help_text="area key → number of questions answered N/A"
    )
    overall = models.DecimalField(null=True, blank=True, **SCORE_FIELD)
    band = models.ForeignKey(
        "rubrics.Band",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    binding_area = models.ForeignKey(
        "rubrics.Area",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["round", "product"])]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.overall}"


class AreaTally(models.Model):
    """What a response answered in one area (answered with a value, N/A, sum of the values):
    the per-response, per-area GROUP BY of its answers, kept current by PostgreSQL triggers on
    the answers (scoring 0008), in the transaction that writes them. The scoring statement
    (sql_rules) reads these instead of every answer, so a recompute after a rule fix reads a
    row per response and area rather than one per answer. Only the triggers write them
    (and `recount_tallies`, which puts drifted ones right: scoring/tallies.py).

    PostgreSQL only: on SQLite the table stays empty and scores.py tallies the answers."""

    pk = models.CompositePrimaryKey("response", "area")
    response = models.ForeignKey(
        "surveys.Response",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the primary key's first column
    )
    area = models.ForeignKey(
        "rubrics.Area",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    answered = models.IntegerField()
    not_applicable = models.IntegerField()
    total = models.DecimalField(max_digits=12, decimal_places=4)
    # the same, of the answers to the area's compared questions (ComparedQuestion) alone
    common_answered = models.IntegerField(db_default=0)
    common_not_applicable = models.IntegerField(db_default=0)
    common_total = models.DecimalField(max_digits=12, decimal_places=4, db_default=0)

    def __str__(self) -> str:
        return f"{self.response_id}/{self.area_id}: {self.answered}, {self.not_applicable} N/A"


class ComparedQuestion(models.Model):
    """A question that like-for-like compares now: common to every version of its rubric in
    view (aggregates.common_questions). The area tallies keep its answers' counts apart too
    (AreaTally.common_*), so like-for-like is scored from the tallies, without reading an
    answer; scoring/tallies.py keeps these rows the comparison (a change has the triggers of
    scoring 0009 count its answers' tallies again). PostgreSQL only, as AreaTally."""

    question = models.OneToOneField(
        "rubrics.Question", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    def __str__(self) -> str:
        return str(self.question_id)


class CohortState(models.Model):
    """Which rounds defined a rubric's stored cohort, to tell when it must be recomputed."""

    rubric = models.OneToOneField("rubrics.Rubric", on_delete=models.CASCADE, related_name="+")
    defining_round_ids = models.JSONField(null=True)  # None: never computed
    # a digest of the cohort code the stored runs were computed by (cohort.code_basis): a
    # change of that code (a rule fix) has the next refresh compute them again
    basis = models.CharField(max_length=64, blank=True, default="")
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.rubric_id}: {self.defining_round_ids}"


class CohortMember(models.Model):
    """A product with a scored response in every defining round of a rubric from `since` on
    (see cohort.cohort_runs): it belongs to the cohort from any start round up to `since`."""

    rubric = models.ForeignKey("rubrics.Rubric", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    # The first defining round of the product's unbroken run up to the latest defining round.
    since = models.ForeignKey("surveys.SurveyRound", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rubric", "product"], name="cohortmember_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rubric_id}:{self.product_id}"


class RoundAggregate(models.Model):
    """Statistics of a round's scores for one population: all products, or the cohort of the
    products scored in every defining round from a start round (`cohort_from`) on."""

    class Population(models.TextChoices):
        ALL = "all", _("All products")
        COHORT = "cohort", _("Continuous cohort")

    round = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, related_name="aggregates"
    )
    rubric = models.ForeignKey("rubrics.Rubric", on_delete=models.CASCADE, related_name="+")
    population = models.CharField(max_length=10, choices=Population.choices)
    # The cohort's start round (a defining round at or before this one); None for `all`.
    cohort_from = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    n = models.PositiveIntegerField()
    mean = models.DecimalField(null=True, **SCORE_FIELD)
    median = models.DecimalField(null=True, **SCORE_FIELD)
    p25 = models.DecimalField(null=True, **SCORE_FIELD)
    p75 = models.DecimalField(null=True, **SCORE_FIELD)
    minimum = models.DecimalField(null=True, **SCORE_FIELD)
    maximum = models.DecimalField(null=True, **SCORE_FIELD)
    area_means = models.JSONField(default=dict)  # area key → mean as a decimal string
    band_counts = models.JSONField(default=list)  # [{order, label_en, label_ja, count}]
    binding_counts = models.JSONField(default=dict)  # area key → number of products
    # question key → {"mean": decimal string or null, "answered": n, "na": n} over the
    # population's scored responses: the dashboard's question heatmap
    question_means = models.JSONField(default=dict)
    # area key → {"answered": n, "na": n} over the population's scored responses
    area_not_applicable = models.JSONField(default=dict)
    # `all` only: the products scored here against the previous defining round (the closed
    # round before it with a scored response): {"previous": round key, "joined", "stayed",
    # "retired", "skipped"}; empty for the first round.
    churn = models.JSONField(default=dict)
    # Like-for-like: the round's scored responses rescored on the questions common to every
    # version of the rubric's rounds (aggregates.common_questions), with the latest version's
    # rule and bands. Each population then has two rows per round, one of each kind.
    like_for_like = models.BooleanField(default=False)
    # like-for-like rows: what was compared ({"questions": common keys, "left_out": per
    # version [{"number", "key"}], "dropped_areas": area keys without a common question,
    # "rule_version": the version label whose rule scored them, "basis": a digest of that
    # version's rule and of the scoring code, aggregates.scoring_basis}); empty otherwise
    comparison = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "like_for_like"],
                condition=Q(population="all"),
                name="roundaggregate_one_all_per_round",
            ),
            models.UniqueConstraint(
                fields=["round", "cohort_from", "like_for_like"],
                condition=Q(population="cohort"),
                name="roundaggregate_one_cohort_per_start",
            ),
            models.CheckConstraint(
                condition=Q(population="all", cohort_from__isnull=True)
                | Q(population="cohort", cohort_from__isnull=False),
                name="roundaggregate_population",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} {self.population}: n={self.n}"


class ScoringJob(models.Model):
    """A request to (re)compute scores, with its progress; a stale job is restarted by beat."""

    class Kind(models.TextChoices):
        RESPONSE = "response", _("One response")
        ROUND = "round", _("One round")
        ALL = "all", _("Everything")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    round = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    response = models.ForeignKey(
        "surveys.Response", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "heartbeat_at"]),
            models.Index(fields=["state", "enqueued_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="response", response__isnull=False)
                | Q(kind="round", round__isnull=False)
                | Q(kind="all"),
                name="scoringjob_target_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        target = self.round_id or self.response_id or "all"
        return f"{self.kind} {target} ({self.state})"

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0
