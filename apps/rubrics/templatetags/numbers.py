"""{% load numbers %}{{ value|score }}: a score as every page shows it (two decimals)."""

from django import template

from apps.rubrics.numbers import format_score, format_signed_score

register = template.Library()


@register.filter
def score(value) -> str:
    """Two decimals ("5.50"); "" for none, so `|score|default:"—"` shows a dash."""
    return format_score(value)


@register.filter
def signed_score(value) -> str:
    """A change in score with its sign ("+0.50", "-1.00", "0.00"); "" for none."""
    return format_signed_score(value)
