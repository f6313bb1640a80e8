"""WebShop's data model: products, goals and a catalog, the boundary between data, site and reward.

Field names follow the original WebShop (princeton-nlp/WebShop, ``web_agent_site/engine``) where it has
one, in snake_case: a product's ``Title`` is `Product.title`, ``BulletPoints`` `Product.bullet_points`,
``product_category`` the ``›``-separated breadcrumb. A generated catalog and one loaded from the
original ``items_shuffle*.json`` / ``items_ins_v2*.json`` files are the same `Catalog`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Review:
    score: int  #: stars, 1-5
    title: str
    body: str


@dataclass(frozen=True)
class Product:
    asin: str  #: unique id, 10 characters like Amazon's (``B0`` + 8 alphanumerics)
    category: str  #: top-level category the original scraped by: beauty, food, fashion, furniture, electronics
    query: str  #: the search query the product was found with (the type reward compares it to the goal's)
    product_category: str  #: breadcrumb, levels joined by `` › `` (e.g. ``Beauty & Personal Care › Skin Care``)
    title: str
    description: str
    bullet_points: tuple[str, ...]
    pricing: tuple[float, ...]  #: one price, or a (low, high) range as the original's ``pricing``
    price: float  #: the price the site shows and charges (the original draws it within a range once)
    options: Mapping[str, tuple[str, ...]]  #: option group -> values, e.g. ``{"size": ("small", "large")}``
    attributes: tuple[str, ...]  #: the original's ``Attributes`` (items_ins_v2), e.g. ``("long lasting",)``
    rating: float | None = None  #: average stars, or None where unrated
    reviews: tuple[Review, ...] = ()
    images: Mapping[str, str] = field(default_factory=dict)  #: option value -> image URL (display only)


@dataclass(frozen=True)
class Goal:
    """One instruction: buy the product ``asin`` (or one like it) with these attributes and options."""

    index: int  #: position in the catalog's single fixed goal order; splits cut this order (see _splits)
    asin: str  #: the product the goal was written from
    category: str
    query: str
    name: str  #: the target product's title
    product_category: str
    #: e.g. ``i need a long lasting 6.76 fl oz bottle of l'eau d'issey, and price lower than 100.00 dollars``
    instruction_text: str
    attributes: tuple[str, ...]  #: attributes the bought product must have
    price_upper: float  #: price bound; 1000000.0 where the instruction names none (as the original)
    goal_options: tuple[str, ...]  #: option values the buyer must choose (the original's human goals keep a list)
    weight: float = 1.0


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]
    goals: tuple[Goal, ...]  #: in the one fixed order splits are cut from
    source: str  #: ``generated`` or ``original``
    fingerprint: str  #: content hash: equal catalogs, equal fingerprints (goes into results' split provenance)

    def product(self, asin: str) -> Product:
        try:
            return self._by_asin[asin]
        except AttributeError:
            object.__setattr__(self, "_by_asin", {p.asin: p for p in self.products})
            return self._by_asin[asin]
