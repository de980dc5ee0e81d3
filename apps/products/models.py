from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.translation import Bilingual


class Characteristic(Bilingual, models.Model):
    """A use-case characteristic (Google Cloud's MLOps framework) that a product may have.

    The eight rows are created by a data migration; products pick any number of them.
    """

    key = models.SlugField(max_length=64, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    name_en = models.CharField(max_length=100)
    name_ja = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["order"]
        verbose_name = _("use-case characteristic")
        verbose_name_plural = _("use-case characteristics")

    def __str__(self) -> str:
        return self.tr("name")


class Product(models.Model):
    """An ML system that is assessed every round."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="products", verbose_name=_("team")
    )
    description = models.TextField(_("description"), blank=True)
    characteristics = models.ManyToManyField(
        Characteristic, related_name="products", blank=True, verbose_name=_("characteristics")
    )
    active_from = models.DateField(_("active from"))
    retired_at = models.DateField(_("retired at"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                condition=Q(retired_at__isnull=True) | Q(retired_at__gte=F("active_from")),
                name="product_retired_after_active",
                violation_error_message=_("A product cannot retire before it became active."),
            )
        ]

    def __str__(self) -> str:
        return self.name
