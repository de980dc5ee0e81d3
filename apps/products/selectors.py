"""Read queries for products: which ones a user may read."""

from django.db.models import Exists, OuterRef, QuerySet

from apps.accounts.roles import sees_everything
from apps.products.models import Product


def visible_product_ids(user) -> QuerySet | None:
    """Ids of the products the user may read (their teams'), or None for all of them."""
    if sees_everything(user):
        return None
    return Product.objects.filter(team__members=user).values("pk")


def namesakes(product: Product) -> QuerySet[Product]:
    """The other products of the product's team with the same name (ignoring case)."""
    return (
        Product.objects.filter(team_id=product.team_id, name__iexact=product.name)
        .exclude(pk=product.pk)
        .order_by("pk")
    )


def sharing_a_name(products: QuerySet[Product]) -> QuerySet[Product]:
    """The products whose team has another product of the same name (ignoring case)."""
    others = Product.objects.filter(
        team_id=OuterRef("team_id"), name__iexact=OuterRef("name")
    ).exclude(pk=OuterRef("pk"))
    return products.filter(Exists(others))
