"""API tokens (rest_framework.authtoken): each expires API_TOKEN_DAYS after it was created and
can be revoked at any time by deleting it (admin site, or `manage.py revoke_tokens`). A new
one: `manage.py drf_create_token -r USERNAME`, or *Tokens* in the admin site."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def expires_at(token: Token) -> datetime:
    """When `token` stops working."""
    return token.created + timedelta(days=settings.API_TOKEN_DAYS)


def is_expired(token: Token, now: datetime | None = None) -> bool:
    """Whether `token` is older than API_TOKEN_DAYS."""
    return (now or timezone.now()) >= expires_at(token)


def revoke_tokens(*, usernames: list[str]) -> int:
    """Delete these users' tokens; return how many there were."""
    deleted, _by_model = Token.objects.filter(user__username__in=usernames).delete()
    return deleted


def delete_expired_tokens() -> int:
    """Delete every token older than API_TOKEN_DAYS; return how many there were."""
    cutoff = timezone.now() - timedelta(days=settings.API_TOKEN_DAYS)
    deleted, _by_model = Token.objects.filter(created__lte=cutoff).delete()
    return deleted


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused with a 401 saying so once the token expired."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
            when = date_format(timezone.localtime(expires_at(token)), "Y-m-d")
            raise AuthenticationFailed(
                _("This token expired on %(date)s: ask an administrator for a new one.")
                % {"date": when}
            )
        return user, token
