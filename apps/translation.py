"""Bilingual text stored as `<name>_en` / `<name>_ja` columns, shown in the active language."""

from django.utils.translation import get_language


class Bilingual:
    """Mixin for models whose texts live in `<field>_en` and `<field>_ja` columns."""

    def tr(self, field: str) -> str:
        """The text of `field` in the active language, falling back to English."""
        language = (get_language() or "en").split("-")[0]
        if language != "en":
            text = getattr(self, f"{field}_{language}", "")
            if text:
                return text
        return getattr(self, f"{field}_en")
