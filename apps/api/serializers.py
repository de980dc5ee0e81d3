"""API shapes. Writes go through the same service functions as the pages and commands."""

import json
from decimal import Decimal

from rest_framework import serializers

from apps.accounts.models import Team
from apps.products.models import Characteristic, Product
from apps.rubrics.models import Area, Criterion, Question, Rubric, RubricVersion, ScaleLevel
from apps.rubrics.rubric_file import size_problem
from apps.surveys.models import Answer, Response, SurveyRound


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(required=False)
    unanswered = serializers.ListField(child=serializers.CharField(), required=False)
    unconfirmed = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Questions whose carried-over answer is not confirmed yet (submit)",
    )
    problems = serializers.ListField(child=serializers.CharField(), required=False)


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["slug", "name", "description"]


class ProductSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    characteristics = serializers.SlugRelatedField(
        slug_field="key", many=True, queryset=Characteristic.objects.all(), required=False
    )

    class Meta:
        model = Product
        fields = [
            "slug",
            "name",
            "team",
            "description",
            "characteristics",
            "active_from",
            "retired_at",
        ]

    def validate(self, attrs):
        active_from = attrs.get("active_from", getattr(self.instance, "active_from", None))
        retired_at = attrs.get("retired_at", getattr(self.instance, "retired_at", None))
        if retired_at and active_from and retired_at < active_from:
            raise serializers.ValidationError(
                {"retired_at": "A product cannot retire before it became active."}
            )
        return attrs


class LevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScaleLevel
        fields = ["value", "label_en", "label_ja"]


class CriterionSerializer(serializers.ModelSerializer):
    level = serializers.DecimalField(source="level.value", max_digits=9, decimal_places=4)

    class Meta:
        model = Criterion
        fields = ["level", "text_en", "text_ja"]


class QuestionSerializer(serializers.ModelSerializer):
    criteria = CriterionSerializer(many=True)

    class Meta:
        model = Question
        fields = [
            "key",
            "order",
            "text_en",
            "text_ja",
            "guidance_en",
            "guidance_ja",
            "na_allowed",
            "na_criterion_en",
            "na_criterion_ja",
            "criteria",
        ]


class AreaSerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True)

    class Meta:
        model = Area
        fields = ["key", "order", "title_en", "title_ja", "questions"]


class RubricVersionSerializer(serializers.ModelSerializer):
    rubric = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = RubricVersion
        fields = [
            "id",
            "rubric",
            "label",
            "state",
            "area_aggregation",
            "not_applicable_policy",
            "overall_rule",
            "published_at",
        ]


class RubricVersionDetailSerializer(RubricVersionSerializer):
    levels = LevelSerializer(many=True)
    areas = AreaSerializer(many=True)

    class Meta(RubricVersionSerializer.Meta):
        fields = [*RubricVersionSerializer.Meta.fields, "levels", "areas"]


class RubricVersionLoadSerializer(serializers.Serializer):
    document = serializers.JSONField(help_text="A rubric file's content (see README), up to 1 MB")
    publish = serializers.BooleanField(default=True)

    def validate_document(self, document):
        """The same size cap as a rubric file's."""
        size = len(json.dumps(document, ensure_ascii=False).encode())
        too_big = size_problem(size, what="the document")
        if too_big:
            raise serializers.ValidationError(too_big)
        return document


class RubricSerializer(serializers.ModelSerializer):
    versions = RubricVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Rubric
        fields = ["slug", "name_en", "name_ja", "versions"]


class SurveyRoundSerializer(serializers.ModelSerializer):
    rubric = serializers.CharField(source="rubric_version.rubric.slug", read_only=True)
    rubric_version = serializers.CharField(source="rubric_version.label", read_only=True)

    class Meta:
        model = SurveyRound
        fields = ["key", "title", "rubric", "rubric_version", "opens_at", "closes_at", "state"]


class SurveyRoundCreateSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=32)
    rubric = serializers.CharField(max_length=64)
    rubric_version = serializers.CharField(max_length=50)
    title = serializers.CharField(max_length=200, required=False, default="")
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=SurveyRound.State.choices, default="planned")


class RoundOpenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class RoundCloseSerializer(RoundOpenSerializer):
    confirm = serializers.BooleanField(
        default=False,
        help_text="Close even when the impact needs a confirmation (see the 409 reply)",
    )


class RoundReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    closes_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="needed if the deadline passed"
    )


class RoundDeadlineSerializer(serializers.Serializer):
    closes_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class CloseImpactSerializer(serializers.Serializer):
    active = serializers.IntegerField(source="progress.active")
    submitted = serializers.IntegerField(source="progress.submitted")
    draft = serializers.IntegerField(source="progress.draft")
    not_started = serializers.IntegerField(source="progress.not_started")
    scored = serializers.IntegerField()
    cohort_before = serializers.IntegerField()
    cohort_after = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())


class AnswerSerializer(serializers.ModelSerializer):
    question = serializers.CharField(source="question.key", read_only=True)
    area = serializers.CharField(source="question.area.key", read_only=True)
    updated_by = serializers.CharField(
        source="updated_by.username", default=None, read_only=True, allow_null=True
    )
    carried_over_from = serializers.SlugRelatedField(
        slug_field="key",
        read_only=True,
        allow_null=True,
        help_text="The round prefill copied this answer from, until a team member confirms it "
        "(saving the answer, or POST …/confirm/ for its area); null once confirmed or answered "
        "here. A response with such answers cannot be submitted.",
    )

    class Meta:
        model = Answer
        fields = [
            "question",
            "area",
            "value",
            "not_applicable",
            "not_applicable_reason",
            "carried_over_from",
            "evidence",
            "evidence_url",
            "revision",
            "updated_by",
            "updated_at",
        ]


class AnswerWriteSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=100)
    value = serializers.DecimalField(
        max_digits=9, decimal_places=4, allow_null=True, required=False, min_value=Decimal(0)
    )
    not_applicable = serializers.BooleanField(default=False)
    not_applicable_reason = serializers.CharField(
        allow_blank=True,
        required=False,
        default="",
        help_text="Why the question does not apply: required with not_applicable",
    )
    evidence = serializers.CharField(allow_blank=True, required=False, default="")
    evidence_url = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=500
    )
    revision = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="The revision you started from (required to change an existing answer)",
    )


class ConfirmAreaSerializer(serializers.Serializer):
    area = serializers.CharField(max_length=100, help_text="The area's key, e.g. data")


class ConfirmedSerializer(serializers.Serializer):
    area = serializers.CharField()
    confirmed = serializers.IntegerField(help_text="Carried-over answers confirmed")


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current = AnswerSerializer()


class ResponseSerializer(serializers.ModelSerializer):
    round = serializers.CharField(source="round.key", read_only=True)
    product = serializers.CharField(source="product.slug", read_only=True)
    submitted_by = serializers.CharField(
        source="submitted_by.username", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Response
        fields = ["id", "round", "product", "status", "submitted_by", "submitted_at", "updated_at"]


class ResponseCreateSerializer(serializers.Serializer):
    round = serializers.CharField(max_length=32)
    product = serializers.CharField(max_length=100)


class ResultSerializer(serializers.Serializer):
    product = serializers.CharField()
    product_name = serializers.CharField()
    team = serializers.CharField()
    status = serializers.CharField()
    submitted_at = serializers.CharField(allow_blank=True)
    areas = serializers.DictField(child=serializers.CharField(allow_blank=True))
    overall = serializers.CharField(allow_blank=True)
    band = serializers.CharField(allow_blank=True)


class ChurnSerializer(serializers.Serializer):
    """Products scored in the round against the previous defining round (`all` rows)."""

    joined = serializers.IntegerField(allow_null=True)
    stayed = serializers.IntegerField(allow_null=True)
    left_retired = serializers.IntegerField(allow_null=True)
    left_skipped = serializers.IntegerField(allow_null=True)


class TrendSerializer(serializers.Serializer):
    round = serializers.CharField()
    population = serializers.CharField()
    n = serializers.IntegerField(allow_null=True)
    overall_mean = serializers.CharField(allow_blank=True)
    overall_median = serializers.CharField(allow_blank=True)
    overall_p25 = serializers.CharField(allow_blank=True)
    overall_p75 = serializers.CharField(allow_blank=True)
    areas = serializers.DictField(child=serializers.CharField(allow_blank=True))
    hidden = serializers.BooleanField(
        help_text="Too few products outside your teams: n (null) and the statistics (blank) "
        "are withheld."
    )
    provisional = serializers.BooleanField(
        help_text="The round is still open: its figures are of the responses submitted so far."
    )
    cohort_from = serializers.CharField(
        allow_blank=True, help_text="The cohort's start round (blank on `all` rows)."
    )
    churn_previous = serializers.CharField(
        allow_blank=True,
        help_text="`all` rows: the defining round the churn compares with (blank for the first).",
    )
    churn = ChurnSerializer()
    like_for_like = serializers.BooleanField(
        help_text="Scored on the questions common to every version of the rubric only."
    )
    questions_compared = serializers.IntegerField(
        allow_null=True, help_text="Like-for-like: how many questions were compared."
    )
    left_out = serializers.CharField(
        allow_blank=True,
        help_text="Like-for-like: the questions left out of each version (number and key), "
        "and the areas without a common question.",
    )
    not_applicable = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text="Per area: the share of N/A among the answers of the scored responses.",
    )
