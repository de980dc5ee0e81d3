"""Read queries for the product catalogue: the products a user may read, each with its
latest stored score, band and trend, read for a whole page in one query."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet, Window
from django.utils.translation import get_language

from apps.dashboards.pagination import CountedPaginator
from apps.dashboards.sparklines import Sparkline, score_text, sparkline
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

    @property
    def shown(self) -> str:
        """The overall score as the site shows scores (two decimals), or –."""
        return score_text(self.overall)


class CatalogueProduct(NamedTuple):
    """What a catalogue row shows of a product, read as a plain row (a page of model
    instances with their teams and characteristics took a fifth of the page's time)."""

    pk: int
    slug: str
    name: str
    team: str  # its name
    retired_at: date | None


@dataclass(frozen=True)
class CatalogueRow:
    """A product with its latest score of a closed round, its open round's score so far, and
    its scores per round of the same rubric (oldest first) for the trend sparkline."""

    product: CatalogueProduct
    use_cases: str  # the product's use-case characteristics in the active language
    latest: CatalogueScore | None
    provisional: CatalogueScore | None
    trend: list[CatalogueScore]
    top: Decimal  # the highest score of the page under the same rubric: the sparklines' scale

    @property
    def sparkline(self) -> Sparkline | None:
        return sparkline(self.trend, self.top)


PRODUCT_FIELDS = ("pk", "slug", "name", "team__name", "retired_at")  # a CatalogueProduct


def catalogue_products(user) -> QuerySet:
    """The products the user may read (their teams', or all for viewers and administrators),
    by name, as CatalogueProduct rows."""
    products = Product.objects.all()
    readable = visible_product_ids(user)
    if readable is not None:
        products = products.filter(pk__in=readable)
    return products.order_by("name", "pk").values_list(*PRODUCT_FIELDS, named=True)


MAX_PAGE_READ = 1_000_000  # a page number beyond this is left to Paginator (its last page)


def catalogue_page(products: QuerySet, number: object, per_page: int) -> Page:
    """Paginator(products, per_page).get_page(number) of catalogue_products' rows, in one
    query instead of two: each row of the page carries the count of them all (COUNT(*) OVER
    ()), taken in the same scan as the page's sort (a search read every product's name and
    slug twice: 5 ms each at 5,000 products). Read as Paginator reads it, a number that is
    not a whole one is the first page; a page past the end or a number below 1 (or so large
    that its offset would overflow the database's) is left to Paginator: its count, then the
    last page."""
    try:
        wanted = int(str(number))
    except ValueError:
        wanted = 1
    if 1 <= wanted <= MAX_PAGE_READ:
        start = (wanted - 1) * per_page
        counted = products.annotate(found=Window(Count("pk")))
        rows = list(counted.values_list(*PRODUCT_FIELDS, "found")[start : start + per_page])
        if rows or wanted == 1:  # nothing on the first page: nothing found at all
            paginator = CountedPaginator(products, per_page, rows[0][-1] if rows else 0)
            return Page([CatalogueProduct(*row[:-1]) for row in rows], wanted, paginator)
    return Paginator(products, per_page).get_page(number)


def search_products(products: QuerySet, query: str) -> QuerySet:
    """The products whose name or slug contains every word of the query, ignoring case and
    the width of Latin letters and digits (ＡＩ finds AI)."""
    for word in unicodedata.normalize("NFKC", query).split():
        products = products.filter(Q(name__icontains=word) | Q(slug__icontains=word))
    return products


def catalogue_rows(products: Sequence) -> list[CatalogueRow]:
    """The rows of a page of catalogue_products: their use cases in one query, their scores
    in another, from the stored scores of closed and open rounds."""
    ids = [product.pk for product in products]
    japanese = (get_language() or "en").startswith("ja")
    use_cases: dict[int, list[str]] = defaultdict(list)
    for product_id, name_en, name_ja in (
        Product.characteristics.through.objects.filter(product_id__in=ids)
        .order_by("characteristic__order")
        .values_list("product_id", "characteristic__name_en", "characteristic__name_ja")
    ):
        use_cases[product_id].append((japanese and name_ja) or name_en)
    by_product: dict[int, list[tuple[int, CatalogueScore]]] = defaultdict(list)
    scores = (
        ResponseScore.objects.filter(
            product_id__in=ids,
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
    return [
        _row(
            CatalogueProduct(*product),
            ", ".join(use_cases.get(product.pk, [])),
            by_product.get(product.pk, []),
            top,
        )
        for product in products
    ]


def _row(
    product: CatalogueProduct,
    use_cases: str,
    scores: list[tuple[int, CatalogueScore]],
    top: dict[int, Decimal],
) -> CatalogueRow:
    """A product's row from its scores, oldest first: the trend is drawn under the rubric of
    its newest score (another rubric's scores are on another scale)."""
    closed = [score for _rubric, score in scores if not score.provisional]
    rubric = scores[-1][0] if scores else None
    newest = scores[-1][1] if scores else None
    return CatalogueRow(
        product=product,
        use_cases=use_cases,
        latest=closed[-1] if closed else None,
        # An open round older than the latest closed one (reopened) is not the news.
        provisional=newest if newest is not None and newest.provisional else None,
        trend=[score for rubric_id, score in scores if rubric_id == rubric],
        top=top.get(rubric, Decimal(0)) if rubric is not None else Decimal(0),
    )
