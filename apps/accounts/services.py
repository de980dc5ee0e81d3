"""Writes about people themselves (teams and roles are managed in the admin site)."""

from django.conf import settings
from django.utils.translation import get_supported_language_variant

from apps.accounts.models import Preference


def remember_language(*, user, language: str) -> str | None:
    """Keep a signed-in person's language for what is sent to them later (their mails);
    returns the language kept, or None for one the site does not offer."""
    try:
        language = get_supported_language_variant(language)
    except LookupError:
        return None
    Preference.objects.update_or_create(user=user, defaults={"language": language})
    return language


def language_of(user) -> str:
    """The language to write to a person in: the one they last chose on the site, else the
    site's default."""
    try:
        return user.preference.language
    except Preference.DoesNotExist:
        return settings.LANGUAGE_CODE
