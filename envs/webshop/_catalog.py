"""The WebShop catalog: generated products and goals (default), or the original's data files when given.

`generate_catalog` builds products of the five top-level categories the original scraped (beauty, food, fashion,
furniture, electronics) from the types in `_vocabulary`: breadcrumbs, titles, attributes, option groups, prices
(one price, or a low-high range with the charged price drawn inside it), descriptions, bullet points, reviews.
Products get two to four goals each in the original's human-goal format: some of the product's attributes, some
of its option values and a price bound (`_goals.price_bound`). A goal is kept only when it is

* solvable: its product has those attributes and options, and a price under the bound, so buying it with those
  options earns reward 1.0; and
* not trivial: another product of the same query fails it (lacks an asked attribute or option value, or costs
  more than the bound), so buying the first search hit is not enough.

Goals are written for the first `GOAL_PRODUCTS` (20,000) products only: a larger catalog adds distractors, not
goals (the original's 12,087 human goals, too, cover a small share of its products). 1,000 products have about
2,800 goals; 100,000 products about 56,000.

The output is a pure function of ``(n_products, seed)`` and `GENERATOR_VERSION`; product ``i`` depends only
on ``seed`` and ``i``'s predecessors, so a smaller catalog's products are the first ones of a larger one (its
goals are not: which rival fails a goal depends on the whole catalog). Generation is fast enough not to be cached
on disk (1,000 products: about 0.07 s, 100,000: about 3.5 s on one core); `load_catalog` keeps what it built
for the life of the process.
"""

from __future__ import annotations

import random
from collections import defaultdict
from functools import lru_cache
from itertools import combinations

from serl_bench.errors import ConfigError

from ._build import build_catalog, catalog_fingerprint, collector_paused
from ._data import Catalog, Product, Review
from ._goals import Draw, instruction_text, price_bound
from ._original import load_original
from ._vocabulary import ATTRIBUTE_SENTENCES, BRAND_SYLLABLES, PRODUCT_TYPES, REVIEWS, ProductType

# build_catalog and catalog_fingerprint live in _build (the original-file loader needs them too); they are
# still importable from here, where their callers have always found them.
__all__ = ["GENERATOR_VERSION", "build_catalog", "catalog_fingerprint", "generate_catalog", "load_catalog"]

GENERATOR_VERSION = 2  # bump when the output for a given (n_products, seed) changes
MAX_PRODUCTS = 1_000_000
GOAL_OPTION_RATE = 0.75  # chance a goal names each option group of its product
GOALS_PER_PRODUCT = (2, 4)  # inclusive range, before goals that fail the checks are dropped
GOAL_PRODUCTS = 20_000  # goals are written for the first this many products; later ones are distractors only

_ASIN_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASIN_SPACE = 36**8
_ASIN_STEP = 2_654_435_761  # coprime with 36**8: i -> i * step mod 36**8 never repeats
_SMALL_WORDS = frozenset("a an and for in of on or the to with".split())


def generate_catalog(n_products: int = 1000, seed: int = 0) -> Catalog:
    """A deterministic generated catalog of ``n_products`` products and their goals."""
    if not isinstance(n_products, int) or isinstance(n_products, bool) or not 1 <= n_products <= MAX_PRODUCTS:
        raise ConfigError(f"n_products must be an integer from 1 to {MAX_PRODUCTS:,}, got {n_products!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"the catalog seed must be an integer, got {seed!r}")
    with collector_paused():
        rng = random.Random(f"serl-bench webshop catalog v{GENERATOR_VERSION} seed {seed}")
        brands = _brands(rng)
        offset = rng.randrange(_ASIN_SPACE)
        draw = Draw(rng)
        made = [_product(draw, i, offset, brands) for i in range(n_products)]
        products = [product for product, _ in made]
        goals = _goals(Draw(random.Random(f"serl-bench webshop goals v{GENERATOR_VERSION} seed {seed}")),
                       products, [head for _, head in made[:GOAL_PRODUCTS]])
        return build_catalog(products, goals, "generated")


@lru_cache(maxsize=8)
def load_catalog(n_products: int | None = 1000, *, data_path: str | None = None) -> Catalog:
    """The generated catalog of ``n_products`` products, or the original's data under ``data_path``.

    ``data_path`` is a folder holding the original files (``items_shuffle*.json``, ``items_ins_v2*.json``,
    ``items_human_ins.json``) or the products file itself; ``n_products`` then keeps the first that many
    products as the original's ``num_products`` does (None: all). Built once per process for each argument set.
    """
    if data_path is not None:
        return load_original(data_path, n_products)
    if n_products is None:
        raise ConfigError("n_products=None (all products) needs data_path: the generated catalog has no 'all'")
    return generate_catalog(n_products)


def _brands(rng: random.Random) -> list[str]:
    """400 made-up brand names, none containing an attribute (the attribute reward searches titles)."""
    banned = {a.replace(" ", "") for t in PRODUCT_TYPES for a in t.attributes}
    brands: set[str] = set()
    while len(brands) < 400:
        name = "".join(rng.choice(BRAND_SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
        if 4 <= len(name) <= 9 and not any(word in name for word in banned):
            brands.add(name.capitalize())
    return sorted(brands)


def _title_case(phrase: str) -> str:
    words = phrase.split()
    return " ".join(w if i and w in _SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words))


class _Kind:
    """A product type with everything a product draws from it prepared once (shared, immutable pieces)."""

    def __init__(self, kind: ProductType) -> None:
        self.kind = kind
        pool = kind.attributes
        self.attribute_sets = [combo for size in range(2, min(4, len(pool)) + 1) for combo in combinations(pool, size)]
        self.option_sets = [
            (group, [combo for size in range(min(2, len(values)), len(values) + 1)
                     for combo in combinations(values, size)])
            for group, values in kind.options]
        self.sentences = {a: [s.format(a=a, A=_title_case(a)) for s in ATTRIBUTE_SENTENCES] for a in pool}
        self.title_attributes = {a: _title_case(a) for a in pool}
        self.bullet_labels = {a: a.upper() for a in pool}
        self.blurb = f"{kind.blurb}."
        self.reviews = {head: {score: [Review(score, title, body.format(head=head.lower()))
                                       for title, body in REVIEWS[score]] for score in REVIEWS}
                        for head in kind.heads}


_KINDS = [_Kind(kind) for kind in PRODUCT_TYPES]
_REVIEW_COUNTS = (0, 1, 2, 3, 3)
_REVIEW_SCORES = (5, 5, 5, 4, 4, 3, 2, 1)


def _asin(i: int, offset: int) -> str:
    n = (i * _ASIN_STEP + offset) % _ASIN_SPACE
    chars = []
    for _ in range(8):
        n, r = divmod(n, 36)
        chars.append(_ASIN_DIGITS[r])
    return "B0" + "".join(reversed(chars))


def _dollars(value: float) -> float:
    """A shop price: whole dollars less a cent (19.99), or .49 below 5 dollars."""
    return round(max(value, 1.0)) - (0.51 if value < 5 else 0.01)


def _product(draw: Draw, i: int, offset: int, brands: list[str]) -> tuple[Product, str]:
    """Product ``i`` and the head noun its title is built on."""
    spec = draw.pick(_KINDS)
    kind = spec.kind
    brand = draw.pick(brands)
    head = draw.pick(kind.heads)
    attributes = draw.pick(spec.attribute_sets)

    options: dict[str, tuple[str, ...]] = {}
    if draw.random() < 0.9:
        for group, subsets in spec.option_sets:
            if draw.random() < 0.85:
                options[group] = draw.pick(subsets)

    title = f"{brand} {draw.pick(kind.styles)} {head}"
    if draw.random() < 0.4:
        title += f", {spec.title_attributes[draw.pick(attributes)]}"
    if kind.audiences and draw.random() < 0.6:
        title += f" {draw.pick(kind.audiences)}"

    low, high = kind.price
    base = _dollars(draw.uniform(low, high))
    if draw.random() < 0.3:  # a price range, as products whose options cost different amounts have
        pricing: tuple[float, ...] = (base, _dollars(base * draw.uniform(1.15, 1.8)))
        price = round(draw.uniform(*pricing), 2)
    else:
        pricing, price = (base,), base

    order = draw.subset(attributes, len(attributes))
    sentences = [spec.blurb]
    sentences.extend(draw.pick(spec.sentences[a]) for a in order[:draw.between(1, len(order))])
    sentences.append(f"Designed by {brand}.")
    features = draw.subset(kind.features, min(len(order), len(kind.features)))
    bullets = [f"{spec.bullet_labels[a]}: {feature}" for a, feature in zip(order, features, strict=False)]
    bullets.append(f"WHAT YOU GET: one {head.lower()} from {brand}")

    by_score = spec.reviews[head]
    reviews = tuple(draw.pick(by_score[draw.pick(_REVIEW_SCORES)]) for _ in range(draw.pick(_REVIEW_COUNTS)))
    rating = round(sum(r.score for r in reviews) / len(reviews), 1) if reviews else None

    product = Product(
        asin=_asin(i, offset), category=kind.category, query=kind.query, product_category=kind.breadcrumb,
        title=title, description=" ".join(sentences), bullet_points=tuple(bullets), pricing=pricing, price=price,
        options=options, attributes=attributes, rating=rating, reviews=reviews)
    return product, head


# --- goals ----------------------------------------------------------------------------------------------------


def _fails(product: Product, attributes: tuple[str, ...], options: tuple[str, ...], price_upper: float) -> bool:
    """Whether buying ``product`` (with any options) cannot satisfy the goal; exact because the pools are
    collision-free and texts name only a product's own attributes (both checked in the catalog tests)."""
    if product.price > price_upper:
        return True
    if any(a not in product.attributes for a in attributes):
        return True
    return any(not any(o in values for values in product.options.values()) for o in options)


def _has_distractor(rivals: list[Product], start: int, target: Product, attributes: tuple[str, ...],
                    options: tuple[str, ...], price_upper: float) -> bool:
    n = len(rivals)
    for k in range(n):
        rival = rivals[(start + k) % n]
        if rival is not target and _fails(rival, attributes, options, price_upper):
            return True
    return False


@lru_cache(maxsize=4096)
def _goal_attribute_sets(attributes: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [combo for size in range(1, min(3, len(attributes)) + 1) for combo in combinations(attributes, size)]


def _goals(draw: Draw, products: list[Product], heads: list[str]) -> list[tuple]:
    """Goal fields (all but ``index``) for every product, in product order."""
    by_query: dict[str, list[Product]] = defaultdict(list)
    for p in products:
        by_query[p.query].append(p)
    goals: list[tuple] = []
    low, high = GOALS_PER_PRODUCT
    for product, head in zip(products, heads, strict=False):  # heads: of the products that get goals
        rivals = by_query[product.query]
        attribute_sets = _goal_attribute_sets(product.attributes)
        seen: set[tuple] = set()
        for _ in range(draw.between(low, high)):
            attributes = draw.subset(draw.pick(attribute_sets), None)
            # Most of the original's human goals name options; a goal without one is won by any item that
            # has the attributes, which made buying the first search result win 29 % of test goals (v1).
            chosen = [(group, draw.pick(values)) for group, values in product.options.items()
                      if draw.random() < GOAL_OPTION_RATE]
            if not chosen and product.options and draw.random() < 0.8:
                group = draw.pick(sorted(product.options))
                chosen = [(group, draw.pick(product.options[group]))]
            if not chosen and len(attributes) < 2 <= len(product.attributes):
                # without options, one attribute is met by most items of the query: ask for two
                attributes = draw.subset(product.attributes, 2)
            goal_options = tuple(value for _, value in chosen)
            key = (frozenset(attributes), goal_options)
            if key in seen:
                continue
            price_upper, price_text = price_bound(product.price, draw)
            if not _has_distractor(rivals, draw.index(len(rivals)), product, attributes, goal_options, price_upper):
                continue
            seen.add(key)
            text = instruction_text(draw, head, list(attributes), chosen) + price_text
            goals.append((product.asin, product.category, product.query, product.title, product.product_category,
                          text, attributes, price_upper, goal_options, 1.0))
    return goals
