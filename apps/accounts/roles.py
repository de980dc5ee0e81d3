"""Who may see what. Viewers (the MLOps team) and administrators see everything; a team member
sees the products of their own teams."""

from django.db.models import QuerySet

from apps.accounts.models import VIEWERS_GROUP


def sees_everything(user) -> bool:
    """Administrators and members of the viewers group read every product's data."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    if not hasattr(user, "_sees_everything"):  # asked several times per request
        user._sees_everything = user.groups.filter(name=VIEWERS_GROUP).exists()
    return user._sees_everything


def visible_product_ids(user) -> QuerySet | None:
    """Ids of the products the user may read, or None for all of them."""
    from apps.products.models import Product

    if sees_everything(user):
        return None
    return Product.objects.filter(team__members=user).values("pk")


def can_answer_for(user, product) -> bool:
    """Members of the product's team (and superusers) fill in its survey; viewers do not."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or product.team.members.filter(pk=user.pk).exists()
