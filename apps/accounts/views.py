from django.http import HttpRequest, HttpResponse
from django.views import i18n

from apps.accounts.services import remember_language


def set_language(request: HttpRequest) -> HttpResponse:
    """The header's language switch (Django's), which also keeps a signed-in person's choice
    for the mails sent to them."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and language:
        remember_language(user=request.user, language=language)
    return response
