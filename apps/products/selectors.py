"""Read queries for products: which ones a user may read."""

from django.db.models import QuerySet

from apps.accounts.roles import sees_everything
from apps.products.models import Product


def visible_product_ids(user) -> QuerySet | None:
    """Ids of the products the user may read (their teams'), or None for all of them."""
    if sees_everything(user):
        return None
    return Product.objects.filter(team__members=user).values("pk")
