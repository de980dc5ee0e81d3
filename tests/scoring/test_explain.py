"""How an area's stored score reads on a page, and the rubric's N/A rule in one sentence."""

from decimal import Decimal

from django.utils import translation

from apps.scoring.explain import area_score_text, not_applicable_rule_text


def test_area_score_beside_its_maximum_and_na_count():
    assert area_score_text("4.0833", Decimal(7), 1, "rescale") == "4.08 / 7 · 1 N/A, rescaled"
    assert area_score_text("4.5", Decimal(7), 2, "exclude") == "4.50 / 7 · 2 N/A, left out"
    assert area_score_text("3", Decimal(7), 0, "rescale") == "3.00 / 7"
    assert area_score_text("3", None, 0, "rescale") == "3.00"
    assert area_score_text(None, Decimal(7), 7, "rescale") == "N/A"


def test_japanese():
    with translation.override("ja"):
        text = area_score_text("4.0833", Decimal(7), 1, "rescale")
        rule = not_applicable_rule_text("rescale")
    assert text.startswith("4.08 / 7 · ") and "N/A" in text and "rescaled" not in text
    assert "N/A" in rule and "scaled" not in rule


def test_the_rule_sentence_follows_the_rubric():
    assert "scaled up to all its questions" in not_applicable_rule_text("rescale", "sum")
    assert "left out of the area's sum" in not_applicable_rule_text("exclude", "sum")
    assert "left out of the area's mean" in not_applicable_rule_text("exclude", "mean")
