"""Read queries for the dashboards, one module per page; they read the stored scores and
aggregates (never the answers, except a product's answer changes)."""

from apps.dashboards.selectors.overview import (
    Point,
    QuestionRow,
    Trend,
    aggregates_stamp,
    filtered_products,
    filtered_trend,
    hide_points,
    point_sizes,
    rubric_questions,
    rubric_trend,
    rubrics_with_rounds,
)
from apps.dashboards.selectors.product_page import (
    AnswerChange,
    ProductRound,
    StepRow,
    answer_changes,
    next_step_rows,
    product_history,
)
from apps.dashboards.selectors.round_page import (
    ResultRow,
    RoundParticipation,
    TeamParticipation,
    owner_names,
    participation_by_round,
    progress_of,
    result_rows,
    round_participation,
    round_results,
)

__all__ = [
    "AnswerChange",
    "Point",
    "ProductRound",
    "QuestionRow",
    "ResultRow",
    "RoundParticipation",
    "StepRow",
    "TeamParticipation",
    "Trend",
    "aggregates_stamp",
    "answer_changes",
    "filtered_products",
    "filtered_trend",
    "hide_points",
    "next_step_rows",
    "owner_names",
    "participation_by_round",
    "point_sizes",
    "product_history",
    "progress_of",
    "result_rows",
    "round_participation",
    "round_results",
    "rubric_questions",
    "rubric_trend",
    "rubrics_with_rounds",
]
