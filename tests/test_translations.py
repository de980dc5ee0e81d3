"""The Japanese UI: the committed catalogue is complete and compiled, and pages use it."""

import gettext
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

LOCALE = Path(settings.BASE_DIR) / "locale" / "ja" / "LC_MESSAGES"


def test_every_message_has_a_japanese_translation():
    text = (LOCALE / "django.po").read_text("utf-8")
    entries = text.split("\n\n")[1:]  # after the header
    empty = [e for e in entries if e.rstrip().endswith('msgstr ""') and "msgid_plural" not in e]
    assert not empty, empty[:3]
    assert "#, fuzzy" not in text


def test_committed_mo_matches_the_po(tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(LOCALE / "django.po")], check=True)
    with fresh.open("rb") as new, (LOCALE / "django.mo").open("rb") as committed:
        assert gettext.GNUTranslations(new)._catalog == gettext.GNUTranslations(committed)._catalog


@pytest.mark.django_db
def test_pages_speak_japanese(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="u"))
    client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    html = client.get("/").content.decode()
    catalogue = gettext.translation("django", localedir=LOCALE.parents[1], languages=["ja"])
    assert catalogue.gettext("My assessments") in html
    assert catalogue.gettext("My assessments") != "My assessments"
    assert 'lang="ja"' in html
    # Choosing a language is a separate step from submitting it (arrow keys on the select
    # must not reload the page under a keyboard user).
    assert "onchange" not in html and f">{catalogue.gettext('Switch')}</button>" in html


@pytest.mark.django_db
def test_the_questionnaire_speaks_japanese(client):
    from tests.factories import ProductFactory, SurveyRoundFactory, TeamFactory, UserFactory

    team = TeamFactory()
    ProductFactory(slug="ranker", team=team)
    SurveyRoundFactory(key="2030-01")
    member = UserFactory(username="u")
    team.members.add(member)
    client.force_login(member)
    client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    client.get(reverse("questionnaire", args=["2030-01", "ranker"]))  # starts the response
    from apps.surveys.services import review_token

    page = client.post(
        reverse("submit-response", args=["2030-01", "ranker"]),
        {"reviewed": review_token([])},
        follow=True,
    )
    html = page.content.decode()
    catalogue = gettext.translation("django", localedir=LOCALE.parents[1], languages=["ja"])
    refused = "提出できません: 未回答の設問が 3 問あります。"
    assert refused == catalogue.gettext("Not submitted: %(reason)s") % {
        "reason": catalogue.ngettext(
            "%(count)d question is not answered yet.",
            "%(count)d questions are not answered yet.",
            3,
        )
        % {"count": 3}
    }
    for text in (refused, catalogue.gettext("Not answered yet"), "領域一覧へスキップ"):
        assert text in html
    assert "スキーマはあるか" in html  # the rubric's own Japanese, in the list of what is left


@pytest.mark.django_db
def test_service_errors_follow_the_users_language():
    from decimal import Decimal

    from django.utils import translation

    from apps.surveys.services import AnswerError, save_answer
    from tests.factories import ResponseFactory

    response = ResponseFactory()
    for language, expected in (("en", "is not on the scale"), ("ja", "は選択肢")):
        with translation.override(language), pytest.raises(AnswerError) as caught:
            save_answer(response=response, question_key="data-schema", value=Decimal("0.7"))
        assert expected in str(caught.value)
