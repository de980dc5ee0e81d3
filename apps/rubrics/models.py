"""Rubrics as data: a rubric has versions; a version carries its scale, scoring rule, bands,
areas and questions. A published version is immutable, because rounds and scores refer to it."""

from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from apps.translation import Bilingual

SCORE_FIELD = {"max_digits": 9, "decimal_places": 4}


def question_number(area_key: str, order: int) -> str:
    """A question's number as people cite it: its area's key and its 1-based position in the
    area, e.g. DATA-3 (the one place this is computed: pages, charts and CSV exports)."""
    return f"{area_key.upper()}-{order + 1}"


def question_number_expression(area_key: str, order: str) -> Func:
    """`question_number` written by the database, from the area key's and the question
    order's field paths (for the exports PostgreSQL writes itself). Literal SQL, no query
    parameters: the export's cell repeats its expression."""
    return Func(
        Upper(F(area_key)),
        Func(F(order), template="CAST(%(expressions)s + 1 AS text)"),
        template="(%(expressions)s)",
        arg_joiner=" || '-' || ",
        output_field=models.CharField(),
    )


class PublishedVersionError(Exception):
    """Raised on any attempt to change the content of a published rubric version."""


class Rubric(Bilingual, models.Model):
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("rubric")
        verbose_name_plural = _("rubrics")

    def __str__(self) -> str:
        return self.tr("name")


class RubricVersionQuerySet(models.QuerySet):
    """Bulk updates and deletes refuse to touch published versions."""

    def _refuse_published(self) -> None:
        if self.filter(state=RubricVersion.State.PUBLISHED).exists():
            raise PublishedVersionError("Published rubric versions cannot be changed.")

    def update(self, **kwargs):
        self._refuse_published()
        return super().update(**kwargs)

    def delete(self):
        self._refuse_published()
        return super().delete()


class RubricVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class AreaAggregation(models.TextChoices):
        SUM = "sum", _("Sum of answers")
        MEAN = "mean", _("Mean of answers")

    class NotApplicablePolicy(models.TextChoices):
        EXCLUDE = "exclude", _("Leave N/A out of the area")
        RESCALE = "rescale", _("Rescale the area sum to all its questions")

    class OverallRule(models.TextChoices):
        MIN = "min", _("Minimum area")
        MEAN = "mean", _("Mean of areas")

    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="versions")
    label = models.CharField(_("version"), max_length=50)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    area_aggregation = models.CharField(max_length=10, choices=AreaAggregation.choices)
    not_applicable_policy = models.CharField(max_length=10, choices=NotApplicablePolicy.choices)
    overall_rule = models.CharField(max_length=10, choices=OverallRule.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = RubricVersionQuerySet.as_manager()

    class Meta:
        ordering = ["rubric__slug", "created_at", "id"]
        verbose_name = _("rubric version")
        verbose_name_plural = _("rubric versions")
        constraints = [
            models.UniqueConstraint(fields=["rubric", "label"], name="rubricversion_unique_label"),
            models.CheckConstraint(
                condition=Q(state__in=["draft", "published"]), name="rubricversion_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(area_aggregation__in=["sum", "mean"]),
                name="rubricversion_area_aggregation_valid",
            ),
            models.CheckConstraint(
                condition=Q(not_applicable_policy="exclude")
                | Q(not_applicable_policy="rescale", area_aggregation="sum"),
                name="rubricversion_rescale_needs_sum",
                violation_error_message=_("The rescale N/A policy only applies to summed areas."),
            ),
            models.CheckConstraint(
                condition=Q(overall_rule__in=["min", "mean"]), name="rubricversion_overall_valid"
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(published_at__isnull=False),
                name="rubricversion_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rubric.slug} {self.label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = (
                RubricVersion.objects.filter(pk=self.pk).values_list("state", flat=True).first()
            )
            if stored == self.State.PUBLISHED:
                raise PublishedVersionError(f"{self} is published and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if RubricVersion.objects.filter(pk=self.pk, state=self.State.PUBLISHED).exists():
            raise PublishedVersionError(f"{self} is published and cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.state == self.State.PUBLISHED


class VersionContentQuerySet(models.QuerySet):
    """Refuses bulk writes that would touch the content of a published version."""

    def _touches_published(self) -> bool:
        path = self.model.version_path
        return self.filter(**{f"{path}__state": RubricVersion.State.PUBLISHED}).exists()

    def update(self, **kwargs):
        if self._touches_published():
            raise PublishedVersionError("Published rubric versions cannot be changed.")
        return super().update(**kwargs)

    def delete(self):
        if self._touches_published():
            raise PublishedVersionError("Published rubric versions cannot be changed.")
        return super().delete()


class VersionContent(models.Model):
    """Base of every row that belongs to a rubric version's content."""

    version_path = "version"  # lookup from this model to its RubricVersion

    objects = VersionContentQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._version_is_published():
            raise PublishedVersionError("Published rubric versions cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._version_is_published():
            raise PublishedVersionError("Published rubric versions cannot be changed.")
        return super().delete(*args, **kwargs)

    def owning_version_id(self) -> int | None:
        return self.version_id

    def _version_is_published(self) -> bool:
        return RubricVersion.objects.filter(
            pk=self.owning_version_id(), state=RubricVersion.State.PUBLISHED
        ).exists()


class ScaleLevel(Bilingual, VersionContent):
    """One answer level of a version's scale, e.g. 0.5 "manual, documented"."""

    version = models.ForeignKey(RubricVersion, on_delete=models.CASCADE, related_name="levels")
    order = models.PositiveSmallIntegerField()
    value = models.DecimalField(**SCORE_FIELD)
    label_en = models.CharField(max_length=200)
    label_ja = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "order"], name="scalelevel_unique_order"),
            models.UniqueConstraint(fields=["version", "value"], name="scalelevel_unique_value"),
            models.CheckConstraint(condition=Q(value__gte=0), name="scalelevel_value_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.value.normalize()} {self.tr('label')}"


class Band(Bilingual, VersionContent):
    """An interpretation band: the first band whose upper bound ≥ the overall score applies."""

    version = models.ForeignKey(RubricVersion, on_delete=models.CASCADE, related_name="bands")
    order = models.PositiveSmallIntegerField()
    upper_bound = models.DecimalField(null=True, blank=True, **SCORE_FIELD)
    label_en = models.CharField(max_length=300)
    label_ja = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "order"], name="band_unique_order"),
            models.UniqueConstraint(
                fields=["version"],
                condition=Q(upper_bound__isnull=True),
                name="band_one_open_ended",
            ),
        ]

    def __str__(self) -> str:
        return self.tr("label")


class Area(Bilingual, VersionContent):
    version = models.ForeignKey(RubricVersion, on_delete=models.CASCADE, related_name="areas")
    key = models.SlugField(max_length=64)
    order = models.PositiveSmallIntegerField()
    title_en = models.CharField(max_length=200)
    title_ja = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="area_unique_key"),
            models.UniqueConstraint(fields=["version", "order"], name="area_unique_order"),
        ]

    def __str__(self) -> str:
        return self.tr("title")


class Question(Bilingual, VersionContent):
    """A question; its key is stable across versions so answers can be carried forward."""

    version = models.ForeignKey(RubricVersion, on_delete=models.CASCADE, related_name="questions")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=100)
    order = models.PositiveSmallIntegerField()
    text_en = models.TextField()
    text_ja = models.TextField(blank=True)
    guidance_en = models.TextField(blank=True)
    guidance_ja = models.TextField(blank=True)
    capabilities = models.JSONField(
        default=list, blank=True, help_text="MLOps capabilities the question exercises"
    )
    na_allowed = models.BooleanField(_("N/A allowed"), default=False)
    na_criterion_en = models.TextField(_("when N/A applies (English)"), blank=True)
    na_criterion_ja = models.TextField(_("when N/A applies (Japanese)"), blank=True)

    class Meta:
        ordering = ["version", "area__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="question_unique_key"),
            models.UniqueConstraint(fields=["area", "order"], name="question_unique_order"),
            models.CheckConstraint(
                condition=Q(na_allowed=True) & ~Q(na_criterion_en="")
                | Q(na_allowed=False, na_criterion_en="", na_criterion_ja=""),
                name="question_na_criterion_iff_allowed",
                violation_error_message=_(
                    "A question allows N/A exactly when it says when N/A applies."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def number(self) -> str:
        """DATA-3: see question_number (reads the area: select or prefetch it)."""
        return question_number(self.area.key, self.order)


class Criterion(Bilingual, VersionContent):
    """What a question's answer at one scale level means, in plain words."""

    version_path = "question__version"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="criteria")
    level = models.ForeignKey(ScaleLevel, on_delete=models.CASCADE, related_name="criteria")
    text_en = models.TextField()
    text_ja = models.TextField(blank=True)

    class Meta:
        ordering = ["question", "level__order"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(fields=["question", "level"], name="criterion_unique_level"),
        ]

    def __str__(self) -> str:
        return self.tr("text")

    def owning_version_id(self) -> int | None:
        return (
            Question.objects.filter(pk=self.question_id)
            .values_list("version_id", flat=True)
            .first()
        )
