"""The round admin's CSV import page (and its link in the list of rounds): answers of a past
round, uploaded as the answers export writes them; every problem is listed and nothing is
written unless the whole file is right."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.exchange.imports import ImportRefused, import_answers
from apps.scoring.admin import ScoredRoundAdmin
from apps.surveys.models import SurveyRound


class ImportAnswersForm(forms.Form):
    file = forms.FileField(
        help_text="CSV in the answers export format, UTF-8 (with or without BOM)"
    )
    create_products = forms.BooleanField(
        required=False, help_text="Create products the file names that do not exist yet"
    )


admin.site.unregister(SurveyRound)


@admin.register(SurveyRound)
class RoundAdmin(ScoredRoundAdmin):
    """The round admin with scoring's actions and an Import answers page per round."""

    list_display = [*ScoredRoundAdmin.list_display, "import_link"]

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
            creates = form.cleaned_data["create_products"]
            if creates and not request.user.has_perms(
                ["products.add_product", "accounts.add_team"]
            ):
                problems = ["Creating products needs the permissions to add products and teams."]
                return self._render(request, survey_round, form, problems)
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
        return self._render(request, survey_round, form, problems)

    def _render(self, request, survey_round, form, problems):
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import answers into {survey_round}",
            "form": form,
            "problems": problems,
            "round": survey_round,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/exchange/import_answers.html", context)
