"""Static files as collectstatic copies them: hashed names and gzip copies (WhiteNoise)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CollectedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Pages link the hashed names even with DEBUG on (the demo), where Django's own storage
    would link the plain ones: a hashed name never changes content, so WhiteNoise lets the
    browser keep it for a year and a fresh visit only fetches what changed."""

    def url(self, name: str | None, force: bool = False) -> str:
        return super().url(name, force=True)
