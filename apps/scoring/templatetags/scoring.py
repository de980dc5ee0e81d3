"""Stored scores for the survey and dashboard pages (which sit below or beside scoring):
{% response_score response as score %}, {% past_scores user as past %}, how an area's
score reads: {% area_score score "data" maxima %} gives "4.08 / 7 · 1 N/A, rescaled", and
the score the rules would give a review, {% provisional_score version review as score %}."""

from django import template

from apps.scoring import provisional, selectors
from apps.scoring.explain import area_score_text, not_applicable_rule_text

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
    return not_applicable_rule_text(policy, aggregation)


@register.simple_tag
def provisional_score(version, review):
    """The score the rules would give the reviewed answers (not stored): see provisional."""
    return provisional.provisional_score(version, review)
