from django import template
from django.template.defaultfilters import date
from django.utils.html import format_html_join
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str):
    """mapping[key] in a template (None when absent)."""
    return mapping.get(key)


@register.filter
def percent(share: float | None) -> str:
    """A share as a whole percentage: 0.634 → "63 %" ("–" for None)."""
    return "–" if share is None else f"{round(share * 100)} %"


# The round page's two 50-row tables, written by format_html: the same markup the template's
# loops wrote, at a fraction of the cost (a template variable per cell was a third of the page).
@register.simple_tag
def laggard_rows(laggards, owners: dict, questions: int, product_prefix: str) -> str:
    """The "Not submitted yet" rows: product, team, status, answered, last activity, owners."""
    draft, not_started = _("Draft"), _("Not started")
    return format_html_join(
        "\n",
        '<tr data-product="{}"><td><a href="{}{}/">{}</a></td><td>{}</td><td>{}</td>'
        '<td class="num">{}/{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                laggard.product.slug,
                product_prefix,
                laggard.product.slug,
                laggard.product.name,
                laggard.product.team.name,
                draft if laggard.status == "draft" else not_started,
                laggard.answered,
                questions,
                date(template_localtime(laggard.last_activity), "Y-m-d H:i") or "–",
                owners.get(laggard.product.team_id) or "–",
            )
            for laggard in laggards
        ),
    )


@register.simple_tag
def result_rows(rows, product_prefix: str) -> str:
    """The results rows: product, team, each area as shown, overall, band, change."""
    return format_html_join(
        "\n",
        '<tr><td><a href="{}{}/">{}</a></td><td>{}</td>{}'
        '<td class="num"><strong>{}</strong></td><td>{}</td><td class="num">{}</td></tr>',
        (
            (
                product_prefix,
                row.product,
                row.product_name,
                row.team,
                format_html_join("", '<td class="num" data-area="{}">{}</td>', row.cells),
                row.overall_text,
                row.band,
                row.change_text,
            )
            for row in rows
        ),
    )
