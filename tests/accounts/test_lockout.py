"""Login lockout (django-axes): repeated failures lock the account and the address, with a
clear message in the user's language, until the cool-off ends or an administrator unlocks."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HOME, THERE = "10.0.0.1", "10.0.0.2"
LOCKED = "Too many failed logins"


@pytest.fixture
def alice():
    return UserFactory(username="alice")


def log_in(client, username: str, password: str, address: str = HOME, **headers):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def fail(client, username: str, times: int, address: str = HOME) -> None:
    for _ in range(times):
        response = log_in(client, username, "wrong", address)
        assert response.status_code in (200, 429)


def test_the_right_password_logs_in_after_fewer_failures_than_the_limit(client, alice):
    fail(client, "alice", settings.AXES_FAILURE_LIMIT - 1)
    response = log_in(client, "alice", "pw")
    assert response.status_code == 302 and response.url == reverse("home")


def test_after_the_limit_the_right_password_is_refused_with_the_lockout_message(client, alice):
    fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    response = log_in(client, "alice", "pw")
    assert response.status_code == 429
    html = response.content.decode()
    assert f"{LOCKED} for this account or from this address" in html
    assert "locked for 15 minutes" in html and "ask an administrator to unlock" in html
    assert 'value="alice"' in html  # the login form again, with the name typed
    assert "_auth_user_id" not in client.session


def test_thirty_failures_then_the_right_password_is_still_refused(client, alice):
    fail(client, "alice", 30)
    assert log_in(client, "alice", "pw").status_code == 429


def test_the_lockout_message_speaks_japanese(client, alice):
    fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    response = log_in(client, "alice", "pw", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 429
    assert "ログインの失敗が多すぎる" in response.content.decode()


def test_the_account_is_locked_from_every_address(client, alice):
    fail(client, "alice", settings.AXES_FAILURE_LIMIT, address=HOME)
    assert log_in(client, "alice", "pw", address=THERE).status_code == 429


def test_the_address_is_locked_for_every_account(client, alice):
    UserFactory(username="bob")
    for name in ("mallory", "eve", "trent", "peggy", "victor"):  # one failure each
        fail(client, name, 1, address=HOME)
    assert log_in(client, "bob", "pw", address=HOME).status_code == 429
    assert log_in(client, "alice", "pw", address=THERE).status_code == 302


def test_another_account_from_another_address_is_unaffected(client, alice):
    UserFactory(username="bob")
    fail(client, "alice", settings.AXES_FAILURE_LIMIT, address=HOME)
    response = log_in(client, "bob", "pw", address=THERE)
    assert response.status_code == 302 and response.url == reverse("home")


def test_the_lock_ends_after_the_cool_off(client, alice):
    fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    earlier = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=earlier)
    assert log_in(client, "alice", "pw").status_code == 302


def test_an_administrator_unlocks_from_the_admin_site(client, admin_client, alice):
    fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    attempt = AccessAttempt.objects.get(username="alice")
    changelist = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200 and "alice" in changelist.content.decode()
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert log_in(client, "alice", "pw").status_code == 302


def test_the_admin_login_is_locked_too(client, alice):
    alice.is_staff = True
    alice.save()
    fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    response = client.post(
        reverse("admin:login"), {"username": "alice", "password": "pw"}, REMOTE_ADDR=HOME
    )
    assert response.status_code == 429


def test_a_forwarded_for_header_from_an_untrusted_peer_does_not_dodge_the_lock(client, alice):
    for number in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{number}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    response = log_in(client, "alice", "pw", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_address(client, alice, settings):
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1", "10.0.0.0/8"]
    for number in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{number}", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.7")
    # A client's own X-Forwarded-For comes first; the proxy appends the address it saw.
    forwarded = "198.51.100.7, 192.0.2.8"
    assert log_in(client, "alice", "pw", HTTP_X_FORWARDED_FOR=forwarded).status_code == 302
    locked = log_in(client, "alice", "pw", HTTP_X_FORWARDED_FOR="192.0.2.8, 198.51.100.7")
    assert locked.status_code == 429
