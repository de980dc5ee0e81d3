"""How a score looks on a page or a chart: one format everywhere (CSV and the API keep the
exact stored values). Here, low in the layers, so every app's templates and figures share it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTS = Decimal("0.01")


def format_score(value: Decimal | float | int | str | None) -> str:
    """A score with two decimals, rounded half up: 5.5 → "5.50", 2 → "2.00", 4.0833 → "4.08";
    "" for none or a value that is not a number."""
    if value is None or value == "":
        return ""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    if not number.is_finite():
        return ""
    text = format(number.quantize(CENTS, rounding=ROUND_HALF_UP), "f")
    return "0.00" if text == "-0.00" else text


def format_signed_score(value: Decimal | float | int | str | None) -> str:
    """A change in score with its sign ("+0.50", "-1.00", "0.00"); "" for none."""
    text = format_score(value)
    return f"+{text}" if text and not text.startswith("-") and text != "0.00" else text
