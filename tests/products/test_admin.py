"""The product admin: a blank slug is made from the name (Japanese names too), and a name
shared with another product of the same team is warned about and can be listed."""

from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.products.models import Product
from tests.factories import ProductFactory, TeamFactory

pytestmark = pytest.mark.django_db


def add(admin_client, **fields):
    data = {"name": "", "slug": "", "team": "", "description": "", "active_from": "2031-01-01"}
    data.update(fields)
    return admin_client.post(reverse("admin:products_product_add"), data, follow=True)


def test_japanese_name_with_a_blank_slug_gets_product_n(admin_client):
    team = TeamFactory()
    ProductFactory(slug="product-3")
    page = add(admin_client, name="需要予測", team=team.pk)
    assert page.status_code == 200
    product = Product.objects.get(name="需要予測")
    assert product.slug == "product-4"
    assert admin_client.get(reverse("product", args=[product.slug])).status_code == 200


def test_latin_name_with_a_blank_slug_is_slugified(admin_client):
    team = TeamFactory()
    ProductFactory(slug="demand-forecast")
    add(admin_client, name="Demand Forecast", team=team.pk)
    assert Product.objects.filter(team=team).get().slug == "demand-forecast-2"


def test_a_slug_typed_in_is_kept_and_a_taken_one_refused(admin_client):
    team = TeamFactory()
    ProductFactory(slug="taken")
    add(admin_client, name="需要予測", slug="juyo", team=team.pk)
    assert Product.objects.get(name="需要予測").slug == "juyo"
    page = add(admin_client, name="Other", slug="taken", team=team.pk)
    assert "Product with this Slug already exists" in page.content.decode()
    assert not Product.objects.filter(name="Other").exists()


def test_a_name_shared_within_the_team_is_warned_about(admin_client):
    team = TeamFactory(name="Search")
    ProductFactory(name="Ranker", slug="ranker", team=team)
    ProductFactory(name="Ranker", slug="ranker-elsewhere")  # another team: fine
    page = add(admin_client, name="ranker", slug="ranker-2", team=team.pk)
    warnings = [str(m) for m in get_messages(page.wsgi_request) if m.level_tag == "warning"]
    assert warnings == [
        "Another product of Search is also called “ranker” (ranker): "
        "if it is the same product, retire or delete one of them."
    ]
    assert Product.objects.filter(team=team).count() == 2  # a warning, not a refusal


def test_a_name_of_its_own_gets_no_warning(admin_client):
    page = add(admin_client, name="Ranker", slug="ranker", team=TeamFactory().pk)
    assert [m for m in get_messages(page.wsgi_request) if m.level_tag == "warning"] == []


def test_list_filter_shows_products_sharing_a_name_in_their_team(admin_client):
    team = TeamFactory()
    ProductFactory(name="Ranker", slug="ranker-a", team=team)
    ProductFactory(name="RANKER", slug="ranker-b", team=team)
    ProductFactory(name="Ranker", slug="ranker-c")  # alone in its team
    ProductFactory(name="Forecast", slug="forecast", team=team, retired_at=date(2031, 1, 1))
    page = admin_client.get(reverse("admin:products_product_changelist"), {"shared_name": "yes"})
    assert page.status_code == 200
    assert sorted(p.slug for p in page.context["cl"].result_list) == ["ranker-a", "ranker-b"]
