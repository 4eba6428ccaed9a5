"""Rule-based product recommendations with a reason for each (seed 002 section 11).

Pure: catalog statistics in, ranked candidates out. For a context product (or category):

1. same category: the category's best sellers ("Top seller in Printers");
2. complementary: best sellers of the categories most often bought in the same order as the
   context's category ("Often bought with Printers: 412 orders together in 90 days");
3. best sellers overall, to fill ("A best seller this quarter").

They are interleaved: two of the category, the best of each of the two complementary
categories, the rest of the category, the rest of the complementary ones, then best sellers;
without duplicates and never the context product itself (so the cached list still has
alternatives after a customer's exclusions). A customer's own exclusions (in the cart,
bought in the last N days) are applied after the cache, since the candidates of a context
are the same for everyone that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

SAME_CATEGORY = 2
COMPLEMENTARY = 2


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    product_id: str
    name: str
    category: str
    units_90d: int


@dataclass(frozen=True, slots=True)
class Catalog:
    """Products with their recent sales, and category pairs bought in the same order."""

    products: Sequence[CatalogProduct]
    together: Mapping[str, Sequence[tuple[str, int]]]  # category -> [(other, orders)], most first

    def to_json(self) -> dict[str, Any]:
        return {
            "products": [asdict(p) for p in self.products],
            "together": {k: [list(pair) for pair in v] for k, v in self.together.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Catalog:
        return cls(
            [CatalogProduct(**p) for p in data["products"]],
            {k: [(o, int(n)) for o, n in v] for k, v in data["together"].items()},
        )


@dataclass(frozen=True, slots=True)
class Recommendation:
    product_id: str
    name: str
    category: str
    reason: str  # same_category | complementary | top_seller
    why: str


def _best_sellers(products: Iterable[CatalogProduct]) -> list[CatalogProduct]:
    return sorted(products, key=lambda p: (-p.units_90d, p.product_id))


def candidates(
    catalog: Catalog, *, product_id: str | None = None, category: str | None = None, limit: int = 15
) -> list[Recommendation]:
    """The ranked candidates for a context product or category (both None: best sellers)."""
    by_id = {p.product_id: p for p in catalog.products}
    if product_id is not None and product_id in by_id:
        category = by_id[product_id].category
    picked: list[Recommendation] = []
    seen = {product_id} if product_id else set()

    def take(pool: Iterable[CatalogProduct], count: int, reason: str, why: str) -> None:
        for product in pool:
            if len(picked) >= limit or count <= 0:
                return
            if product.product_id in seen:
                continue
            seen.add(product.product_id)
            picked.append(
                Recommendation(product.product_id, product.name, product.category, reason, why)
            )
            count -= 1

    ranked = _best_sellers(catalog.products)
    if category is not None:
        same = [p for p in ranked if p.category == category]
        take(same, SAME_CATEGORY, "same_category", f"Top seller in {category}")
        partners = catalog.together.get(category, ())[:COMPLEMENTARY]

        def complements(count: int) -> None:
            for other, orders in partners:
                pool = [p for p in ranked if p.category == other]
                why = f"Often bought with {category}: {orders} orders together in 90 days"
                take(pool, count, "complementary", why)

        complements(1)
        take(same, limit, "same_category", f"Top seller in {category}")
        complements(limit)
    take(ranked, limit, "top_seller", "A best seller this quarter")
    return picked


def for_customer(
    candidates_: Sequence[Recommendation], exclude: Iterable[str], k: int = 5
) -> list[Recommendation]:
    """The first k candidates the customer does not have in the cart or bought recently."""
    excluded = set(exclude)
    return [c for c in candidates_ if c.product_id not in excluded][:k]
