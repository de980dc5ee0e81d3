"""API tokens expire after API_TOKEN_DAYS and can be revoked (admin site, revoke_tokens)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/teams/"


def token_for(username: str, age_days: float = 0) -> Token:
    token = Token.objects.create(user=UserFactory(username=username))
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=age_days))
    token.refresh_from_db()
    return token


def call(token: Token, url: str = URL, **headers):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client.get(url, **headers)


def test_a_token_younger_than_api_token_days_works(settings):
    assert settings.API_TOKEN_DAYS == 90
    assert call(token_for("ann", age_days=89)).status_code == 200


def test_an_expired_token_gets_a_401_saying_so(settings):
    token = token_for("ann", age_days=90.01)
    response = call(token)
    assert response.status_code == 401
    expired_on = timezone.localtime(token.created + timedelta(days=90)).strftime("%Y-%m-%d")
    assert response.json() == {
        "detail": f"This token expired on {expired_on}: ask an administrator for a new one."
    }
    assert response["WWW-Authenticate"] == "Token"


def test_the_expiry_follows_the_setting(settings):
    settings.API_TOKEN_DAYS = 7
    assert call(token_for("ann", age_days=8)).status_code == 401
    assert call(token_for("bob", age_days=6)).status_code == 200


def test_a_regenerated_token_works_again():
    old = token_for("ann", age_days=100)
    call_command("drf_create_token", "-r", "ann", stdout=StringIO())
    new = Token.objects.get(user__username="ann")
    assert new.key != old.key
    assert call(old).status_code == 401 and call(new).status_code == 200


def test_revoke_tokens_deletes_the_named_users_tokens():
    ann, bob = token_for("ann"), token_for("bob")
    out = StringIO()
    call_command("revoke_tokens", "ann", stdout=out)
    assert "Revoked 1 token(s) of ann." in out.getvalue()
    assert call(ann).status_code == 401 and call(bob).status_code == 200


def test_revoke_tokens_expired_deletes_only_expired_ones():
    token_for("ann", age_days=91)
    fresh = token_for("bob", age_days=1)
    out = StringIO()
    call_command("revoke_tokens", "--expired", stdout=out)
    assert "Deleted 1 expired token(s)." in out.getvalue()
    assert list(Token.objects.all()) == [fresh]


def test_revoke_tokens_needs_a_user_or_expired():
    with pytest.raises(CommandError, match="--expired"):
        call_command("revoke_tokens", stdout=StringIO())


def test_an_administrator_sees_expiry_and_revokes_in_the_admin_site(admin_client):
    token = token_for("ann", age_days=10)
    page = admin_client.get(reverse("admin:authtoken_tokenproxy_changelist"))
    expires = timezone.localtime(token.created + timedelta(days=90))
    assert page.status_code == 200 and "Expires" in page.content.decode()
    assert expires.strftime("%Y") in page.content.decode()
    delete = reverse("admin:authtoken_tokenproxy_delete", args=[token.user_id])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not TokenProxy.objects.exists()
    assert call(token).status_code == 401


def test_the_expiry_message_speaks_japanese():
    response = call(token_for("ann", age_days=100), HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 401
    assert "有効期限が切れ" in response.json()["detail"]
