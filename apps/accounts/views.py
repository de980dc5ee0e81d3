"""Sign-in pages: the login page's lockout (too many failed logins for an account or from an
address) and the header's language switch."""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext
from django.views import i18n

from apps.accounts.services import remember_language


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The login page again, saying why logging in is refused (django-axes calls this)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = ngettext(
        "Too many failed logins for this account or from this address: logging in is locked "
        "for %(minutes)d minute. Try again later, or ask an administrator to unlock it.",
        "Too many failed logins for this account or from this address: logging in is locked "
        "for %(minutes)d minutes. Try again later, or ask an administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}
    context = {
        "form": AuthenticationForm(request, initial={"username": request.POST.get("username")}),
        "next": request.POST.get("next", ""),
        "locked_out": message,
        "oidc_enabled": settings.OIDC_ENABLED,
    }
    return render(
        request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )


def set_language(request: HttpRequest) -> HttpResponse:
    """The header's language switch (Django's), which also keeps a signed-in person's choice
    for the mails sent to them."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and language:
        remember_language(user=request.user, language=language)
    return response
