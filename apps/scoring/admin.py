from django.contrib import admin, messages
from django.utils.html import format_html

from apps.scoring.jobs import request_scoring
from apps.scoring.models import ResponseScore, RoundAggregate, ScoringJob
from apps.surveys.admin import SurveyRoundAdmin
from apps.surveys.models import SurveyRound


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: shown, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScoringJob)
class ScoringJobAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "kind",
        "round",
        "state",
        "progress",
        "attempts",
        "created_at",
        "finished_at",
        "requested_by",
    ]
    list_filter = ["state", "kind"]
    list_select_related = ["round", "requested_by"]
    readonly_fields = ["progress", "summary", "error"]

    @admin.display(description="progress")
    def progress(self, job: ScoringJob) -> str:
        return format_html(
            '<progress max="100" value="{}" aria-label="{}% done"></progress> {}%',
            job.percent,
            job.percent,
            job.percent,
        )


@admin.register(ResponseScore)
class ResponseScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "response",
        "round",
        "product",
        "overall",
        "band",
        "binding_area",
        "computed_at",
    ]
    list_filter = ["round", "rubric_version"]
    list_select_related = [
        "response__product",
        "response__round",
        "round",
        "product",
        "band",
        "binding_area",
    ]
    search_fields = ["product__name", "product__slug"]
    show_full_result_count = False


@admin.register(RoundAggregate)
class RoundAggregateAdmin(ReadOnlyAdmin):
    list_display = [
        "round",
        "population",
        "n",
        "mean",
        "median",
        "p25",
        "p75",
        "minimum",
        "maximum",
        "computed_at",
    ]
    list_filter = ["rubric", "population"]
    list_select_related = ["round"]


admin.site.unregister(SurveyRound)


@admin.register(SurveyRound)
class ScoredRoundAdmin(SurveyRoundAdmin):
    """The surveys' round admin with scoring's action: recompute the selected rounds."""

    actions = [*SurveyRoundAdmin.actions, "recompute_scores"]

    @admin.action(description="Recompute the scores of the selected rounds", permissions=["change"])
    def recompute_scores(self, request, queryset):
        for survey_round in queryset:
            request_scoring(
                kind=ScoringJob.Kind.ROUND, round_id=survey_round.pk, requested_by=request.user
            )
        self.message_user(
            request,
            f"Queued {queryset.count()} scoring job(s); follow them under Scores › Scoring jobs.",
            messages.SUCCESS,
        )
