"""E-mail settings from EMAIL_URL (django-environ). A URL that cannot be read does not stop
the app: every mail then fails with the reason, which the reminders record and log."""

import environ
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend

UNCONFIGURED_BACKEND = "config.mail.UnconfiguredBackend"


def email_settings(url: str) -> dict:
    """EMAIL_BACKEND, EMAIL_HOST and the rest for an EMAIL_URL such as
    `smtp://user:pass@host:587` or `consolemail://`; for one that cannot be read, a backend
    that refuses every mail, with EMAIL_URL_ERROR saying why."""
    try:
        config = environ.Env.email_url_config(url)
    except (ImproperlyConfigured, ValueError) as error:
        return {"EMAIL_BACKEND": UNCONFIGURED_BACKEND, "EMAIL_URL_ERROR": f"EMAIL_URL: {error}"}
    config.pop("OPTIONS", None)  # query options other than TLS or SSL mean nothing to Django
    return {**config, "EMAIL_URL_ERROR": ""}


class UnconfiguredBackend(BaseEmailBackend):
    """The backend of an EMAIL_URL that could not be read: every send fails with the reason."""

    def open(self):
        raise ImproperlyConfigured(settings.EMAIL_URL_ERROR or "EMAIL_URL is not usable")

    def send_messages(self, email_messages) -> int:
        self.open()
        return 0
