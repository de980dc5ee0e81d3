"""Stored scores for the survey and dashboard pages (which sit below or beside scoring):
{% response_score response as score %}, {% past_scores user as past %}, and how an area's
score reads: {% area_score score "data" maxima %} gives "4.08 / 7 · 1 N/A, rescaled"."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.rubrics.numbers import format_score
from apps.scoring import selectors

register = template.Library()


@register.simple_tag
def response_score(response):
    """The response's stored score (with band and binding area), or None."""
    return selectors.response_score(response)


@register.simple_tag
def past_scores(user):
    """The user's teams' scored responses in closed rounds, newest first."""
    return selectors.past_scores(user)


@register.simple_tag
def area_maxima(version_id):
    """Each area's highest possible score in the version (two queries)."""
    return selectors.area_maxima(version_id) if version_id else {}


def area_score_text(
    value: str | Decimal | None, maximum: Decimal | None, not_applicable: int, policy: str
) -> str:
    """An area's score as pages show it: "4.08 / 7 · 1 N/A, rescaled"; "N/A" when every
    question of the area is N/A; the maximum and the N/A count only when known."""
    if value is None:
        return _("N/A")
    text = format_score(value)
    if maximum is not None:
        text += f" / {format(maximum.normalize(), 'f')}"
    if not_applicable:
        if policy == "rescale":
            note = ngettext("%(n)d N/A, rescaled", "%(n)d N/A, rescaled", not_applicable)
        else:
            note = ngettext("%(n)d N/A, left out", "%(n)d N/A, left out", not_applicable)
        text += " · " + note % {"n": not_applicable}
    return text


@register.simple_tag
def area_score(score, key: str, maxima=None) -> str:
    """One area of a stored score (a ResponseScore) as `area_score_text` writes it."""
    if score is None or key not in score.area_scores:
        return "–"
    return area_score_text(
        score.area_scores[key],
        (maxima or {}).get(key),
        (score.area_not_applicable or {}).get(key, 0),
        score.not_applicable_policy,
    )


@register.simple_tag
def not_applicable_rule(policy: str, aggregation: str = "sum") -> str:
    """One sentence: how the rubric's rule counts N/A answers in an area's score."""
    if aggregation == "mean":
        return _(
            "N/A answers (allowed only where the rubric says when a question does not apply, "
            "with a reason) are left out of the area's mean."
        )
    if policy == "rescale":
        return _(
            "N/A answers (allowed only where the rubric says when a question does not apply, "
            "with a reason) are left out, and the area's sum is scaled up to all its questions: "
            "sum × questions ÷ applicable questions."
        )
    return _(
        "N/A answers (allowed only where the rubric says when a question does not apply, "
        "with a reason) are left out of the area's sum, which lowers what the area can reach."
    )
