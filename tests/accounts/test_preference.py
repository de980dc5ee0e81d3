"""A signed-in person's language is kept for what is sent to them later (their mails)."""

import pytest
from django.urls import reverse

from apps.accounts.models import Preference
from apps.accounts.services import language_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_switching_language_while_signed_in_is_remembered(client):
    user = UserFactory(username="u")
    assert language_of(user) == "en"  # the site's default until they choose
    client.force_login(user)
    page = client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    assert page.status_code == 302 and page.cookies["django_language"].value == "ja"
    assert Preference.objects.get(user=user).language == "ja"
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert language_of(user) == "en" and Preference.objects.count() == 1


def test_a_language_the_site_does_not_offer_is_not_kept(client):
    user = UserFactory(username="u")
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert not Preference.objects.exists()


def test_anonymous_switch_keeps_nothing_but_still_switches(client):
    page = client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    assert page.cookies["django_language"].value == "ja"
    assert not Preference.objects.exists()
