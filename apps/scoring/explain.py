"""How a stored area score reads on a page ("4.08 / 7 · 1 N/A, rescaled") and the one
sentence that explains the rubric's N/A rule: shared by the survey and dashboard pages."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.rubrics.numbers import format_score


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


def not_applicable_rule_text(policy: str, aggregation: str = "sum") -> str:
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
