from django import forms
from django.contrib import admin, messages
from django.db import models
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts.roles import can_reopen
from apps.exchange.imports import ImportRefused, import_answers
from apps.scoring.models import ScoringJob
from apps.scoring.jobs import request_scoring
from apps.surveys import services
from apps.surveys.models import Answer, Response, SurveyRound

URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class ImportAnswersForm(forms.Form):
    file = forms.FileField(
        help_text="CSV in the answers export format, UTF-8 (with or without BOM)"
    )
    create_products = forms.BooleanField(
        required=False, help_text="Create products the file names that do not exist yet"
    )


@admin.register(SurveyRound)
class SurveyRoundAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "title",
        "rubric_version",
        "state",
        "opens_at",
        "closes_at",
        "import_link",
    ]
    list_filter = ["state", "rubric_version__rubric", "rubric_version"]
    list_select_related = ["rubric_version__rubric"]
    search_fields = ["key", "title"]
    date_hierarchy = "opens_at"
    actions = ["recompute_scores", "close_rounds"]

    @admin.display(description="CSV")
    def import_link(self, survey_round: SurveyRound) -> str:
        url = reverse("admin:surveys_surveyround_import", args=[survey_round.pk])
        return format_html('<a href="{}">Import answers</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_answers_view)
        return [
            path("<int:round_id>/import/", view, name="surveys_surveyround_import"),
            *super().get_urls(),
        ]

    def import_answers_view(self, request, round_id: int):
        """Upload a past round's answers; every problem is listed and nothing is written."""
        if not self.has_change_permission(request):
            return redirect("admin:index")
        survey_round = get_object_or_404(
            SurveyRound.objects.select_related("rubric_version"), pk=round_id
        )
        form = ImportAnswersForm(request.POST or None, request.FILES or None)
        problems = []
        if request.method == "POST" and form.is_valid():
            try:
                result = import_answers(
                    survey_round=survey_round,
                    data=form.cleaned_data["file"].read(),
                    create_products=form.cleaned_data["create_products"],
                    user=request.user,
                )
            except ImportRefused as error:
                problems = error.problems
            else:
                self.message_user(
                    request,
                    f"Imported {result.responses} responses ({result.answers} answers); "
                    f"created {len(result.products_created)} products; "
                    f"{len(result.unchanged)} unchanged. Scores are being computed.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:surveys_surveyround_change", args=[round_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import answers into {survey_round}",
            "form": form,
            "problems": problems,
            "round": survey_round,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/surveys/import_answers.html", context)

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

    @admin.action(
        description="Close the selected rounds (and compute their scores)", permissions=["change"]
    )
    def close_rounds(self, request, queryset):
        for survey_round in queryset.filter(state=SurveyRound.State.OPEN):
            services.close_round(survey_round=survey_round, user=request.user)
            self.message_user(request, f"Closed {survey_round}.", messages.SUCCESS)

    def get_readonly_fields(self, request, obj=None):
        # Closing recomputes scores, so it goes through the "Close" action, not the form.
        fixed = ["state"] if obj and obj.state == SurveyRound.State.CLOSED else []
        # Answers are tied to the round's questions: the version is fixed once responses exist.
        if obj and obj.responses.exists():
            fixed.append("rubric_version")
        return fixed

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "rubric_version":
            kwargs["queryset"] = db_field.related_model.objects.filter(
                state="published"
            ).select_related("rubric")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AnswerInline(admin.TabularInline):
    """Read-only: answers change through the survey, whose saves and submits rescore."""

    model = Answer
    formfield_overrides = URL_FIELDS

    def has_change_permission(self, request, obj=None):
        return False

    fields = [
        "question",
        "value",
        "not_applicable",
        "evidence",
        "evidence_url",
        "updated_by",
        "updated_at",
    ]
    readonly_fields = ["question", "updated_by", "updated_at"]
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("question__area", "updated_by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Response)
class ResponseAdmin(SimpleHistoryAdmin):
    list_display = ["product", "round", "status", "submitted_by", "submitted_at", "updated_at"]
    list_filter = ["round", "status", "product__team", "round__rubric_version__rubric"]
    list_select_related = ["product", "round", "submitted_by"]
    search_fields = ["product__name", "product__slug", "product__team__name", "round__key"]
    raw_id_fields = ["product", "submitted_by"]
    readonly_fields = ["status", "submitted_by", "submitted_at"]
    inlines = [AnswerInline]
    actions = ["reopen"]

    def has_reopen_permission(self, request) -> bool:
        return can_reopen(request.user)

    @admin.action(
        description="Reopen the selected submitted responses (back to draft)",
        permissions=["reopen"],
    )
    def reopen(self, request, queryset):
        for response in queryset.select_related("round", "product"):
            try:
                services.reopen_response(response=response, user=request.user)
            except services.SubmitError as error:
                self.message_user(request, f"{response}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Reopened {response}.", messages.SUCCESS)


@admin.register(Answer)
class AnswerAdmin(SimpleHistoryAdmin):
    """Read-only, with history: answers change through the survey, which rescoring follows."""

    show_full_result_count = False  # millions of answers: skip the second COUNT(*)
    formfield_overrides = URL_FIELDS
    list_display = ["response", "question", "value", "not_applicable", "updated_by", "updated_at"]
    list_filter = ["response__round", "not_applicable", "question__area__key"]
    list_select_related = ["response__product", "response__round", "question", "updated_by"]
    search_fields = ["response__product__name", "question__key", "evidence"]
    raw_id_fields = ["response", "question", "updated_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
