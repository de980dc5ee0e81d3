"""A new product's slug: its name slugified when written mostly in Latin letters, else
product-N; never one already taken."""

import pytest

from apps.products.services import unique_product_slug
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Demand forecast", "demand-forecast"),
        ("Café ranker v2", "cafe-ranker-v2"),  # accents dropped, letters kept
        ("ＡＩ Ranker", "ai-ranker"),  # full-width letters read as Latin
        ("需要予測", "product-1"),
        ("需要予測 12", "product-1"),  # not "12"
        ("需要予測 API", "product-1"),  # mostly Japanese: not "api"
        ("Search 検索", "search"),  # mostly Latin
        ("★★★", "product-1"),
    ],
)
def test_slug_for_a_name(name, slug):
    assert unique_product_slug(name) == slug


def test_a_taken_slug_gets_the_next_free_suffix():
    ProductFactory(slug="demand-forecast")
    ProductFactory(slug="demand-forecast-2")
    assert unique_product_slug("Demand Forecast") == "demand-forecast-3"


def test_japanese_names_are_numbered_after_the_highest_number_so_far():
    ProductFactory(slug="product-1")
    ProductFactory(slug="product-7")
    ProductFactory(slug="product-x")  # not a number: ignored
    assert unique_product_slug("需要予測") == "product-8"


def test_the_product_itself_does_not_count_as_taken():
    product = ProductFactory(slug="demand-forecast")
    assert unique_product_slug("Demand forecast", exclude_pk=product.pk) == "demand-forecast"


def test_a_long_name_fits_the_slug_with_room_for_a_suffix():
    slug = unique_product_slug("model " * 40)
    assert len(slug) <= 94 and not slug.endswith("-")


def test_api_refuses_a_japanese_slug_with_a_400():
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from tests.factories import TeamFactory

    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_superuser("root", password="pw"))
    body = {"name": "需要予測", "team": TeamFactory().slug, "active_from": "2031-01-01"}
    reply = client.post("/api/v1/products/", {**body, "slug": "需要予測"}, format="json")
    assert reply.status_code == 400 and "slug" in reply.json()
