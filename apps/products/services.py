"""Writes for products: a usable, unique slug for a new product's name."""

from __future__ import annotations

import re
import unicodedata

from django.utils.text import slugify

from apps.products.models import Product

SLUG_MAX = Product._meta.get_field("slug").max_length
FALLBACK = "product"
NUMBERED = re.compile(rf"^{FALLBACK}-([0-9]+)$")


def _mostly_latin(name: str) -> bool:
    """Whether most of the name's letters and digits survive slugify's ASCII conversion: a
    Japanese name would be cut down to a fragment (`需要予測 v2` → `v2`) or to nothing."""
    kept = dropped = 0
    for char in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name)):
        if char.isalnum():  # an accent is a separate, non-alphanumeric mark after NFKD
            if char.isascii():
                kept += 1
            else:
                dropped += 1
    return kept > 0 and kept >= dropped


def unique_product_slug(name: str, *, exclude_pk: int | None = None) -> str:
    """A slug for a product called `name`, not used by any other product: the name slugified
    when it is written mostly in Latin letters (`Demand forecast` → `demand-forecast`, then
    `demand-forecast-2` …), else `product-N`, N one more than the highest such number so far
    (a Japanese name has no transliteration we could trust, and a new number never reuses a
    deleted product's old address)."""
    others = Product.objects.exclude(pk=exclude_pk) if exclude_pk else Product.objects.all()
    base = slugify(unicodedata.normalize("NFKC", name)) if _mostly_latin(name) else ""
    if not base:
        taken = others.filter(slug__startswith=f"{FALLBACK}-").values_list("slug", flat=True)
        numbers = [int(m.group(1)) for m in map(NUMBERED.match, taken) if m]
        return f"{FALLBACK}-{max(numbers, default=0) + 1}"
    base = base[: SLUG_MAX - 6].strip("-")  # room for a "-99999" suffix
    taken = set(others.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"
