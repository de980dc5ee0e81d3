"""One number format on every page and chart: two decimals (CSV and the API stay exact)."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from apps.rubrics.numbers import format_score


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("5.5000"), "5.50"),
        (Decimal("4.0833"), "4.08"),
        (Decimal("2.50"), "2.50"),
        (Decimal("2"), "2.00"),
        (Decimal("0.125"), "0.13"),  # half up, as people round
        (Decimal("-0.0001"), "0.00"),
        (2.3333333, "2.33"),
        ("1.005", "1.01"),
        (7, "7.00"),
        (None, ""),
        ("", ""),
        ("abc", ""),
        (Decimal("NaN"), ""),
    ],
)
def test_format_score(value, shown):
    assert format_score(value) == shown


def test_template_filters():
    template = Template(
        "{% load numbers %}{{ a|score }} {{ b|score|default:'—' }} {{ c|signed_score }} "
        "{{ d|signed_score }} {{ e|signed_score }}"
    )
    context = Context(
        {"a": Decimal("5.5"), "b": None, "c": Decimal("0.3334"), "d": Decimal("-1"), "e": 0}
    )
    assert template.render(context) == "5.50 — +0.33 -1.00 0.00"


def test_no_page_template_formats_numbers_its_own_way():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert "floatformat" not in text, path
