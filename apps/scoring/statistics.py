"""Summary statistics of a population's scores (pure functions, exact decimals)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from apps.scoring.rules import quantize


def percentile(sorted_values: Sequence[Decimal], fraction: Decimal) -> Decimal:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = fraction * (len(sorted_values) - 1)
    lower = int(position)
    if lower + 1 >= len(sorted_values):
        return sorted_values[-1]
    weight = position - lower
    return sorted_values[lower] + (sorted_values[lower + 1] - sorted_values[lower]) * weight


def mean(values: Sequence[Decimal]) -> Decimal:
    return quantize(sum(values, Decimal(0)) / len(values))


def describe(
    values: Sequence[Decimal], *, total: Decimal | None = None, presorted: bool = False
) -> dict[str, Decimal | int | None]:
    """n, mean, median, quartiles, min and max of some scores (None where n is 0); `total`:
    their sum, when the caller keeps it; `presorted`: the values are in order already."""
    ordered = values if presorted else sorted(values)
    if not ordered:
        return dict.fromkeys(("mean", "median", "p25", "p75", "minimum", "maximum"), None) | {
            "n": 0
        }
    return {
        "n": len(ordered),
        "mean": mean(ordered) if total is None else quantize(total / len(ordered)),
        "median": quantize(percentile(ordered, Decimal("0.5"))),
        "p25": quantize(percentile(ordered, Decimal("0.25"))),
        "p75": quantize(percentile(ordered, Decimal("0.75"))),
        "minimum": ordered[0],
        "maximum": ordered[-1],
    }
