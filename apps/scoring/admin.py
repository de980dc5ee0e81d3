from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from apps.scoring.closing import close_impact, close_with_impact
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
        "cohort_from",
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
    list_select_related = ["round", "cohort_from"]


class CloseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    confirm = forms.BooleanField(
        required=False, label="I have read the impact and want to close anyway"
    )


admin.site.unregister(SurveyRound)


@admin.register(SurveyRound)
class ScoredRoundAdmin(SurveyRoundAdmin):
    """The surveys' round admin with scoring's action: recompute the selected rounds."""

    actions = [
        "open_rounds",
        "close_rounds",
        "reopen_rounds",
        "extend_deadlines",
        "recompute_scores",
    ]

    @admin.action(
        description="Close the selected rounds (shows the impact first)", permissions=["change"]
    )
    def close_rounds(self, request, queryset):
        """Show what closing changes (responses, the cohort); close once confirmed, and ask
        again for the rounds whose impact needs an explicit confirmation."""
        selected = list(queryset.filter(state=SurveyRound.State.OPEN).order_by("opens_at"))
        if not selected:
            self.message_user(request, "None of the selected rounds is open.", messages.ERROR)
            return None
        impacts = [(survey_round, close_impact(survey_round)) for survey_round in selected]
        form = CloseForm(request.POST if "apply" in request.POST else None)
        needs = any(impact.needs_confirmation for _round, impact in impacts)
        if form.is_valid() and (form.cleaned_data["confirm"] or not needs):
            for survey_round, _impact in impacts:
                self._apply(
                    request,
                    close_with_impact,
                    survey_round,
                    confirmed=form.cleaned_data["confirm"],
                    reason=form.cleaned_data["reason"],
                )
            return None
        if form.is_bound and needs and not form.cleaned_data.get("confirm"):
            form.add_error("confirm", "Tick to confirm: read the warnings above first.")
        return self._ask(
            request,
            queryset.filter(pk__in=[r.pk for r in selected]),
            form,
            "close_rounds",
            "Close rounds",
            impacts=impacts,
        )

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
