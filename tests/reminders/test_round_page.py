"""The round page's Remind form (administrators who may change rounds) and reminder log
(viewers and administrators), and the reminder log in the admin site."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from apps.accounts.models import ADMINS_GROUP, VIEWERS_GROUP
from apps.reminders.models import ReminderMail
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def in_group(username: str, group: str, **fields):
    user = UserFactory(username=username, **fields)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def remind(client, org, **data):
    return client.post(reverse("round-remind", args=[org.round.key]), data)


def test_a_member_and_a_viewer_may_not_remind(client, org, smtp_server):
    for user in (org.alice, in_group("viewer", VIEWERS_GROUP, is_staff=True)):
        client.force_login(user)
        assert remind(client, org, team=[org.search.pk]).status_code == 403
    assert smtp_server.received == [] and not ReminderMail.objects.exists()


def test_an_administrator_reminds_the_chosen_teams_and_is_told_so(client, org, smtp_server):
    admin = in_group("admin", ADMINS_GROUP, is_staff=True)
    client.force_login(admin)
    page = remind(client, org, team=[org.search.pk])
    assert page.status_code == 302 and page["Location"].endswith("/rounds/2030-04/#reminders")
    assert sorted(r for mail in smtp_server.received for r in mail.recipients) == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert set(ReminderMail.objects.values_list("kind", "triggered_by__username")) == {
        ("manual", "admin")
    }
    html = client.get(page["Location"]).content.decode()
    assert "Sending reminders to 2 people (products: 2)" in html
    log = html[html.index('id="reminder-log"') :]
    assert "alice@example.com" in log and "Ranker, Speller" in log and "Manual" in log


def test_an_administrator_reminds_chosen_products_only(client, org, smtp_server):
    client.force_login(in_group("admin", ADMINS_GROUP))
    bidder = org.ads.products.get(slug="bidder")
    remind(client, org, product=[bidder.pk])
    assert [mail.recipients for mail in smtp_server.received] == [["alice@example.com"]]
    assert "Bidder" in smtp_server.received[0].body and "Ranker" not in smtp_server.received[0].body


def test_remind_needs_a_choice_an_open_round_and_a_post(client, org, smtp_server):
    client.force_login(in_group("admin", ADMINS_GROUP))
    page = remind(client, org)
    assert (
        "Choose the teams or products to remind." in client.get(page["Location"]).content.decode()
    )
    assert client.get(reverse("round-remind", args=[org.round.key])).status_code == 405
    org.round.state = "closed"
    org.round.save(update_fields=["state"])
    page = remind(client, org, team=[org.search.pk])
    assert "is not open" in client.get(page["Location"]).content.decode()
    assert smtp_server.received == []


def test_remind_needs_the_csrf_token(org, smtp_server):
    client = Client(enforce_csrf_checks=True)
    client.force_login(in_group("admin", ADMINS_GROUP))
    assert remind(client, org, team=[org.search.pk]).status_code == 403
    assert smtp_server.received == []


def test_the_form_shows_to_administrators_only_and_the_log_to_viewers(client, org, smtp_down):
    from apps.reminders import services

    services.remind(survey_round=org.round, teams=[org.ads.pk])  # the server is down
    url = reverse("round", args=[org.round.key])

    client.force_login(in_group("admin", ADMINS_GROUP))
    html = client.get(url).content.decode()
    assert 'id="remind-form"' in html and f'name="team" value="{org.search.pk}"' in html
    assert "Search (2 products)" in html and "Ads (1 product)" in html

    client.force_login(in_group("viewer", VIEWERS_GROUP))
    html = client.get(url).content.decode()
    assert 'id="remind-form"' not in html
    log = html[html.index('id="reminder-log"') :]
    assert log.count('data-status="failed"') == 2
    assert "Connection refused" in log and "no e-mail address" in log
    assert "2 mails sent for this round, 2 not delivered" in html

    client.force_login(org.alice)  # a member: neither
    html = client.get(url).content.decode()
    assert 'id="reminders"' not in html and 'id="reminder-log"' not in html


def test_the_log_speaks_japanese(client, org, smtp_server):
    from apps.reminders import services

    services.remind(survey_round=org.round, teams=[org.ads.pk])
    client.force_login(in_group("viewer", VIEWERS_GROUP))
    client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    html = client.get(reverse("round", args=[org.round.key])).content.decode()
    assert "このラウンドで送ったメールは 2 通、うち未配信は 1 通です" in html
    assert "メールアドレスがありません" in html and "配信済み" in html


def test_the_round_page_reads_the_log_in_constant_queries(
    client, org, smtp_server, django_assert_max_num_queries
):
    from apps.reminders import services

    admin = in_group("admin", ADMINS_GROUP)
    client.force_login(admin)
    url = reverse("round", args=[org.round.key])
    client.get(url)
    services.remind(survey_round=org.round)
    with django_assert_max_num_queries(40) as before:
        client.get(url)
    for _ in range(3):
        services.remind(survey_round=org.round)  # carol's fail again: three more mails
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get(url)


def test_the_admin_lists_the_reminder_log(client, org, smtp_server):
    from apps.reminders import services

    services.remind(survey_round=org.round, triggered_by=org.bob)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:reminders_remindermail_changelist")).content.decode()
    assert "alice@example.com" in html and "Bidder, Ranker, Speller" in html
    assert "no e-mail address" in html
    mail = ReminderMail.objects.get(recipient=org.alice)
    assert (
        client.get(reverse("admin:reminders_remindermail_change", args=[mail.pk])).status_code
        == 200
    )


def test_a_long_log_lists_the_latest_and_counts_them_all(client, org, smtp_down, monkeypatch):
    from apps.reminders import services
    from apps.reminders.templatetags import reminders as section

    monkeypatch.setattr(section, "LOG_LENGTH", 2)
    services.remind(survey_round=org.round)  # three mails, none delivered
    client.force_login(in_group("viewer", VIEWERS_GROUP))
    html = client.get(reverse("round", args=[org.round.key])).content.decode()
    assert html.count('data-status="failed"') == 2
    assert "3 mails sent for this round, 3 not delivered" in html
    assert "The latest 2 are listed" in html
