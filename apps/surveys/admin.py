"""Admin pages of rounds, responses and answers. A round's state changes only through the
services (the Open and Close actions), never by editing the field; scoring adds its
Recompute action and exchange its CSV import page to this round admin (scoring/admin.py,
exchange/admin.py), since surveys does not depend on them."""

from django.contrib import admin, messages
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts.roles import can_reopen
from apps.surveys import services
from apps.surveys.models import Answer, Response, SurveyRound

URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(SurveyRound)
class SurveyRoundAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "rubric_version", "state", "opens_at", "closes_at"]
    list_filter = ["state", "rubric_version__rubric", "rubric_version"]
    list_select_related = ["rubric_version__rubric"]
    search_fields = ["key", "title"]
    date_hierarchy = "opens_at"
    actions = ["open_rounds", "close_rounds"]

    @admin.action(description="Open the selected planned rounds", permissions=["change"])
    def open_rounds(self, request, queryset):
        for survey_round in queryset.order_by("opens_at"):
            try:
                services.open_round(survey_round=survey_round, user=request.user)
            except services.RoundError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"Opened {survey_round}.", messages.SUCCESS)

    @admin.action(
        description="Close the selected rounds (and compute their scores)", permissions=["change"]
    )
    def close_rounds(self, request, queryset):
        for survey_round in queryset.order_by("opens_at"):
            try:
                services.close_round(survey_round=survey_round, user=request.user)
            except services.RoundError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"Closed {survey_round}.", messages.SUCCESS)

    def get_readonly_fields(self, request, obj=None):
        # The state changes through the Open and Close actions (services with their guards:
        # closing queues the recompute), never through the form; a new round is planned.
        fixed = ["state"]
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
