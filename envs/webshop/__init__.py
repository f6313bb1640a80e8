"""WebShop (Yao et al., 2022): an online shop where an agent searches, reads item pages and buys.

A real Flask site on 127.0.0.1 (`create_app`), BM25 search (`search_index`), the original's reward
(`compute_reward`), and ``serl/WebShop-v0`` (`WebShopEnv`) reading it as text over HTTP or in headless
Chromium. The catalog is generated (`load_catalog`), or read from the original's JSON files.

The env, the site and the browser load Flask, bm25s and selenium, so they are imported on first use.
"""

from ._data import Catalog, Goal, Product, Review
from ._splits import SPLIT_SOURCES, SPLITS
from ._vocabulary import CATEGORIES

__all__ = ["CATEGORIES", "SPLITS", "SPLIT_SOURCES", "Catalog", "Goal", "Product", "Review", "WebShopEnv",
           "compute_reward", "create_app", "load_catalog", "search_index"]

_LAZY = {
    "WebShopEnv": "._env",
    "compute_reward": "._reward",
    "create_app": "._site",
    "load_catalog": "._catalog",
    "search_index": "._search",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
