"""Building a `Catalog` from products and goals: what the generator (`_catalog`) and the original-file loader
(`_original`) share, so that neither needs the other.

A catalog's goals are put in one fixed order and numbered by it, and the catalog gets a fingerprint of its whole
content; `collector_paused` keeps the cyclic garbage collector out of the way while either builds one.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable
from contextlib import contextmanager

from ._data import Catalog, Goal, Product
from ._splits import fix_goal_order


def build_catalog(products: Iterable[Product], goals: Iterable[tuple], source: str) -> Catalog:
    """A catalog from products and goals in their natural order (the original's: by product, then instruction).

    ``goals`` are the fields of each `Goal` after ``index``, as tuples; they are put in the one fixed order
    (`_splits.fix_goal_order`) and numbered by their place in it.
    """
    products = tuple(products)
    ordered = tuple(Goal(index, *fields) for index, fields in enumerate(fix_goal_order(list(goals))))
    return Catalog(products=products, goals=ordered, source=source,
                   fingerprint=catalog_fingerprint(products, ordered, source))


def catalog_fingerprint(products: Iterable[Product], goals: Iterable[Goal], source: str) -> str:
    """sha256 of the catalog's canonical content: every field of every product and goal, in order.

    Each record is its fields joined by U+001E (nested sequences by U+001F; numbers, None and mappings by
    ``repr``), one record a line: the same content gives the same digest on every machine and Python 3 version.
    """
    digest = hashlib.sha256(f"webshop-catalog\n{source}\n".encode())
    rs, us = "\x1e", "\x1f"
    for p in products:
        digest.update(rs.join((
            p.asin, p.category, p.query, p.product_category, p.title, p.description, us.join(p.bullet_points),
            repr(p.pricing), repr(p.price), repr(list(p.options.items())), us.join(p.attributes), repr(p.rating),
            repr([(r.score, r.title, r.body) for r in p.reviews]), repr(list(p.images.items())), "\n")).encode())
    digest.update(b"goals\n")
    for g in goals:
        digest.update(rs.join((
            str(g.index), g.asin, g.category, g.query, g.name, g.product_category, g.instruction_text,
            us.join(g.attributes), repr(g.price_upper), us.join(g.goal_options), repr(g.weight), "\n")).encode())
    return digest.hexdigest()


@contextmanager
def collector_paused():
    """Pause the cyclic garbage collector while building: a catalog is millions of acyclic objects that its
    passes would walk again and again (a generated 100k catalog: 3.1 s instead of 3.7 s; more for big JSON)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
