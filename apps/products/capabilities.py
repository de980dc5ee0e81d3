"""The MLOps capabilities recommended for each use-case characteristic of a product (Google
Cloud's MLOps framework, 2021). Rubric questions name the capabilities they exercise (the
vocabulary is `apps.rubrics.capabilities`), so a product's "next steps" can put first what
matters for its kind of system."""

from __future__ import annotations

# Characteristic key (see the products data migration) → recommended capabilities.
RECOMMENDED: dict[str, frozenset[str]] = {
    "experimentation": frozenset({"experimentation", "data-processing", "metadata-tracking"}),
    "mission-critical": frozenset(
        {
            "model-evaluation",
            "model-monitoring",
            "online-experimentation",
            "model-registry",
            "metadata-tracking",
            "feature-repository",
        }
    ),
    "reusable-collaborative": frozenset({"feature-repository", "metadata-tracking"}),
    "ad-hoc-retraining": frozenset(
        {"data-processing", "model-training", "model-evaluation", "model-monitoring"}
    ),
    "frequent-retraining": frozenset(
        {
            "ml-pipelines",
            "data-processing",
            "model-training",
            "model-evaluation",
            "model-registry",
            "metadata-tracking",
        }
    ),
    "frequent-implementation-changes": frozenset(
        {
            "ci-cd",
            "experimentation",
            "online-experimentation",
            "model-evaluation",
            "model-registry",
            "metadata-tracking",
        }
    ),
    "batch-serving": frozenset(
        {"data-processing", "ml-pipelines", "model-registry", "model-serving"}
    ),
    "online-serving": frozenset({"model-serving", "feature-repository", "online-experimentation"}),
}


def recommended_for(characteristic_keys: list[str]) -> frozenset[str]:
    """The union of the capabilities recommended for each of a product's characteristics."""
    return frozenset().union(*(RECOMMENDED.get(key, frozenset()) for key in characteristic_keys))
