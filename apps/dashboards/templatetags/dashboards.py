from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str):
    """mapping[key] in a template (None when absent)."""
    return mapping.get(key)


@register.filter
def percent(share: float | None) -> str:
    """A share as a whole percentage: 0.634 → "63 %" ("–" for None)."""
    return "–" if share is None else f"{round(share * 100)} %"
