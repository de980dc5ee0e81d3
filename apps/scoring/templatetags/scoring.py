"""Stored scores for the survey pages (which sit below scoring and never import it):
{% response_score response as score %} and {% past_scores user as past %}; and the score the
rules would give a review, {% provisional_score version review as score %}."""

from django import template

from apps.scoring import provisional, selectors

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
def provisional_score(version, review):
    """The score the rules would give the reviewed answers (not stored): see provisional."""
    return provisional.provisional_score(version, review)
