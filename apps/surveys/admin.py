"""Admin pages of rounds, responses and answers. A round's state and deadline change only
through the lifecycle services (the Open, Reopen and Change-the-deadline actions here), never
by editing the fields; scoring adds Close (which shows the impact on the cohort first) and
Recompute, and exchange its CSV import page, to this round admin (scoring/admin.py,
exchange/admin.py), since surveys does not depend on them."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts.roles import can_reopen
from apps.surveys import rounds, services
from apps.surveys.models import Answer, Response, RoundEvent, SurveyRound

URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class RoundChangeForm(forms.Form):
    """What a reopen or a deadline change needs: a reason, a new deadline."""

    closes_at = forms.DateTimeField(
        required=False,
        label="New deadline",
        help_text="YYYY-MM-DD HH:MM; when reopening, needed only if the old one has passed",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, reason: bool = False, deadline: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason
        self.fields["closes_at"].required = deadline


class RoundEventInline(admin.TabularInline):
    """The round's log: every state and deadline change, who, when and why."""

    model = RoundEvent
    fields = ["at", "action", "from_state", "to_state", "closes_at", "user", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SurveyRound)
class SurveyRoundAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "rubric_version", "state", "opens_at", "closes_at"]
    list_filter = ["state", "rubric_version__rubric", "rubric_version"]
    list_select_related = ["rubric_version__rubric"]
    search_fields = ["key", "title"]
    date_hierarchy = "opens_at"
    actions = ["open_rounds", "reopen_rounds", "extend_deadlines"]
    inlines = [RoundEventInline]

    @admin.action(description="Open the selected planned rounds", permissions=["change"])
    def open_rounds(self, request, queryset):
        for survey_round in queryset.order_by("opens_at"):
            try:
                rounds.open_round(survey_round=survey_round, user=request.user)
            except rounds.RoundError as error:
                self.message_user(request, f"{survey_round}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Opened {survey_round}.", messages.SUCCESS)

    @admin.action(description="Reopen the selected closed rounds", permissions=["change"])
    def reopen_rounds(self, request, queryset):
        """Ask for a reason (and a new deadline if the old one passed), then reopen."""
        return self._change(request, queryset, rounds.reopen_round, "reopen_rounds", reason=True)

    @admin.action(description="Change the deadline of the selected rounds", permissions=["change"])
    def extend_deadlines(self, request, queryset):
        """Ask for the new deadline (and why), then move it."""
        return self._change(
            request, queryset, rounds.extend_deadline, "extend_deadlines", deadline=True
        )

    def _change(self, request, queryset, transition, action: str, **required):
        """Ask for what the transition needs on an intermediate page, then run it on each
        selected round, oldest first."""
        form = RoundChangeForm(request.POST if "apply" in request.POST else None, **required)
        if not form.is_valid():
            title = "Reopen rounds" if action == "reopen_rounds" else "Change the deadline"
            return self._ask(request, queryset, form, action, title)
        for survey_round in queryset.order_by("opens_at"):
            self._apply(
                request,
                transition,
                survey_round,
                reason=form.cleaned_data["reason"],
                closes_at=form.cleaned_data["closes_at"],
            )
        return None

    def _apply(self, request, transition, survey_round, **kwargs) -> None:
        try:
            transition(survey_round=survey_round, user=request.user, **kwargs)
        except rounds.RoundError as error:
            self.message_user(request, f"{survey_round}: {error}", messages.ERROR)
        else:
            self.message_user(request, f"{survey_round}: done.", messages.SUCCESS)

    def _ask(self, request, queryset, form, action: str, title: str, **extra):
        """The intermediate page of an action that needs more input (like delete's)."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "rounds": queryset,
            "form": form,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **extra,
        }
        return TemplateResponse(request, "admin/surveys/round_action.html", context)

    def get_readonly_fields(self, request, obj=None):
        # The state and, once open, the deadline change through the actions (services with
        # their guards and log: closing queues the recompute), never through the form.
        fixed = ["state"]
        if obj and obj.state != SurveyRound.State.PLANNED:
            fixed.append("closes_at")
        # Answers are tied to the round's questions, and an open round holds its rubric's one
        # open place: the version is fixed once the round opens.
        if obj and (obj.state != SurveyRound.State.PLANNED or obj.responses.exists()):
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
        "not_applicable_reason",
        "carried_over_from",
        "evidence",
        "evidence_url",
        "updated_by",
        "updated_at",
    ]
    readonly_fields = ["question", "carried_over_from", "updated_by", "updated_at"]
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("question__area", "updated_by", "carried_over_from")
        )

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
    list_display = [
        "response",
        "question",
        "value",
        "not_applicable",
        "not_applicable_reason",
        "carried_over_from",
        "updated_by",
        "updated_at",
    ]
    list_filter = [
        "response__round",
        "not_applicable",
        ("carried_over_from", admin.EmptyFieldListFilter),
        "question__area__key",
    ]
    list_select_related = [
        "response__product",
        "response__round",
        "question",
        "updated_by",
        "carried_over_from",
    ]
    search_fields = [
        "response__product__name",
        "question__key",
        "evidence",
        "not_applicable_reason",
    ]
    raw_id_fields = ["response", "question", "updated_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
