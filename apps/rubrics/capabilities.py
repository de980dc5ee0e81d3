"""The MLOps capabilities a rubric question may say it exercises (Google Cloud's MLOps
framework, 2021): the vocabulary the rubric file validator accepts."""

from django.utils.translation import gettext_lazy as _

CAPABILITIES = {
    "experimentation": _("Experimentation"),
    "data-processing": _("Data processing"),
    "model-training": _("Model training"),
    "model-evaluation": _("Model evaluation"),
    "model-serving": _("Model serving"),
    "online-experimentation": _("Online experimentation"),
    "model-monitoring": _("Model monitoring"),
    "ml-pipelines": _("ML pipelines"),
    "model-registry": _("Model registry"),
    "feature-repository": _("Dataset and feature repository"),
    "metadata-tracking": _("ML metadata and artifact tracking"),
    "ci-cd": _("CI/CD"),
}
