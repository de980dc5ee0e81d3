"""Read queries for the product catalogue: the products a user may read, each with its
latest stored score, band and trend, read for a whole page in one query."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet

from apps.dashboards.sparklines import Sparkline, sparkline
from apps.products.models import Product
from apps.products.selectors import visible_product_ids
from apps.scoring.models import ResponseScore
from apps.surveys.models import SurveyRound
from apps.translation import Bilingual


@dataclass(frozen=True)
class CatalogueScore(Bilingual):
    """A product's stored score in one round, as the catalogue shows it."""

    round: str
    overall: Decimal | None
    band_en: str
    band_ja: str
    provisional: bool  # the round is still open: more answers may change it

    @property
    def band(self) -> str:
        return self.tr("band")


@dataclass(frozen=True)
class CatalogueRow:
    """A product with its latest score of a closed round, its open round's score so far, and
    its scores per round of the same rubric (oldest first) for the trend sparkline."""

    product: Product
    latest: CatalogueScore | None
    provisional: CatalogueScore | None
    trend: list[CatalogueScore]
    top: Decimal  # the highest score of the page under the same rubric: the sparklines' scale

    @property
    def sparkline(self) -> Sparkline | None:
        return sparkline(self.trend, self.top)

    @property
    def use_cases(self) -> str:
        """The product's use-case characteristics (prefetched), in the active language."""
        return ", ".join(str(item) for item in self.product.characteristics.all())


def catalogue_products(user) -> QuerySet[Product]:
    """The products the user may read (their teams', or all for viewers and administrators),
    by name, with what a catalogue row shows of them."""
    products = Product.objects.select_related("team").prefetch_related("characteristics")
    readable = visible_product_ids(user)
    if readable is not None:
        products = products.filter(pk__in=readable)
    return products.order_by("name", "pk")


def search_products(products: QuerySet[Product], query: str) -> QuerySet[Product]:
    """The products whose name or slug contains every word of the query, ignoring case and
    the width of Latin letters and digits (ＡＩ finds AI)."""
    for word in unicodedata.normalize("NFKC", query).split():
        products = products.filter(Q(name__icontains=word) | Q(slug__icontains=word))
    return products


def catalogue_rows(products: Sequence[Product]) -> list[CatalogueRow]:
    """The rows of a page of products, their scores read in one query from the stored
    scores of closed and open rounds."""
    by_product: dict[int, list[tuple[int, CatalogueScore]]] = defaultdict(list)
    scores = (
        ResponseScore.objects.filter(
            product_id__in=[product.pk for product in products],
            round__state__in=[SurveyRound.State.OPEN, SurveyRound.State.CLOSED],
        )
        .order_by("round__opens_at", "round_id")
        .values_list(
            "product_id",
            "rubric_version__rubric_id",
            "round__key",
            "round__state",
            "overall",
            "band__label_en",
            "band__label_ja",
        )
    )
    top: dict[int, Decimal] = defaultdict(Decimal)
    for product_id, rubric_id, key, state, overall, band_en, band_ja in scores:
        score = CatalogueScore(
            round=key,
            overall=overall,
            band_en=band_en or "",
            band_ja=band_ja or "",
            provisional=state == SurveyRound.State.OPEN,
        )
        by_product[product_id].append((rubric_id, score))
        if overall is not None:
            top[rubric_id] = max(top[rubric_id], Decimal(overall))
    return [_row(product, by_product.get(product.pk, []), top) for product in products]


def _row(
    product: Product, scores: list[tuple[int, CatalogueScore]], top: dict[int, Decimal]
) -> CatalogueRow:
    """A product's row from its scores, oldest first: the trend is drawn under the rubric of
    its newest score (another rubric's scores are on another scale)."""
    closed = [score for _rubric, score in scores if not score.provisional]
    rubric = scores[-1][0] if scores else None
    newest = scores[-1][1] if scores else None
    return CatalogueRow(
        product=product,
        latest=closed[-1] if closed else None,
        # An open round older than the latest closed one (reopened) is not the news.
        provisional=newest if newest is not None and newest.provisional else None,
        trend=[score for rubric_id, score in scores if rubric_id == rubric],
        top=top.get(rubric, Decimal(0)) if rubric is not None else Decimal(0),
    )
