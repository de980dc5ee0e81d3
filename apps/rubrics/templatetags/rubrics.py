from django import template

register = template.Library()


@register.filter
def tr(obj, field: str) -> str:
    """A bilingual model's text in the active language: {{ question|tr:"text" }}."""
    return obj.tr(field)
