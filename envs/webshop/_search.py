"""The shop's search engine: BM25 (bm25s) over each product's text, like the original's Lucene index.

The original indexes, per product, its title, description, first bullet point and an option text
(``size: small, large, and color: red``), lowercased (``search_engine/convert_product_file_format.py``),
searches it with pyserini's BM25 (k1 0.9, b 0.4) and keeps the top 50 hits; the site shows 10 per page.
Here the same text goes through a small, dependency-free analyzer (Lucene's English stop words, a
minimal plural stemmer, `stem`) into a bm25s index, built once per catalog and kept for the process::

    index = search_index(catalog)          # built on first use, then cached by catalog fingerprint
    asins = index.search("red running shoes")   # up to 50 asins, best first; ties by catalog order
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

import bm25s
import numpy as np

from ._data import Catalog, Product

SEARCH_RETURN_N = 50  #: hits a search keeps (the original's ``SEARCH_RETURN_N``)
PRODUCT_WINDOW = 10  #: results per page
K1, B = 0.9, 0.4  #: pyserini's BM25 defaults

# Lucene's English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), which pyserini's analyzer uses.
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they "
    "this to was will with".split())
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*")


@lru_cache(maxsize=1 << 18)
def stem(word: str) -> str:
    """Plural to singular, conservatively, after Lucene's EnglishMinimalStemmer (``batteries`` -> ``battery``,
    ``days`` -> ``day``; ``glass`` and ``bus`` stay), except that ``-oes`` and ``-ees`` lose their
    ``s`` too (``shoes`` -> ``shoe``, ``trees`` -> ``tree``), which shop text needs more than Lucene's
    ``does`` and ``goes`` do."""
    if len(word) < 3 or word[-1] != "s" or word[-2] in "us":
        return word
    if word[-2] == "e" and word[-3] == "i" and len(word) > 4 and word[-4] not in "ae":
        return word[:-3] + "y"
    if word[-2] == "e" and word[-3] in "ia":
        return word
    return word[:-1]


def tokenize(text: str) -> list[str]:
    """The analyzer for documents and queries alike: lowercase words and numbers (``6.76`` stays one
    token), stop words dropped, plurals stemmed."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


def option_text(product: Product) -> str:
    return ", and ".join(f"{name}: {', '.join(values)}" for name, values in product.options.items())


def index_text(product: Product) -> str:
    """What the index holds for a product, as the original builds it: title, description, first bullet
    point and options."""
    first_bullet = product.bullet_points[0] if product.bullet_points else ""
    return " ".join([product.title, product.description, first_bullet, option_text(product)]).lower()


@dataclass
class SearchIndex:
    """A BM25 index over one catalog's products; `search` is thread-safe."""

    fingerprint: str
    asins: tuple[str, ...]
    build_seconds: float
    _bm25: bm25s.BM25 = field(repr=False)
    _vocab: dict[str, int] = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def search(self, keywords: str, k: int = SEARCH_RETURN_N) -> tuple[str, ...]:
        """The asins of the products that match ``keywords`` best, at most ``k``, best first.

        Only products sharing a term with the query are hits (as in Lucene); equal scores keep catalog order.
        """
        ids = [self._vocab[t] for t in tokenize(keywords) if t in self._vocab]
        if not ids:
            return ()
        with self._lock:
            scores = self._bm25.get_scores_from_ids(ids)
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            kth = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
            hits = hits[scores[hits] >= kth]
        order = np.lexsort((hits, -scores[hits]))[:k]
        return tuple(self.asins[i] for i in hits[order])


def build_index(catalog: Catalog) -> SearchIndex:
    """Index ``catalog``'s products (no caching; see `search_index`)."""
    start = time.perf_counter()
    vocab: dict[str, int] = {}
    corpus_ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(index_text(p))] for p in catalog.products]
    vocab.setdefault("", len(vocab))  # bm25s scores queries through this empty token when nothing matches
    bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
    bm25.index((corpus_ids, vocab), create_empty_token=False, show_progress=False)
    return SearchIndex(fingerprint=catalog.fingerprint, asins=tuple(p.asin for p in catalog.products),
                       build_seconds=time.perf_counter() - start, _bm25=bm25, _vocab=vocab)


_INDEXES: dict[str, SearchIndex] = {}
_INDEXES_LOCK = threading.Lock()


def search_index(catalog: Catalog) -> SearchIndex:
    """``catalog``'s index, built on first use and kept for the life of the process."""
    with _INDEXES_LOCK:
        index = _INDEXES.get(catalog.fingerprint)
        if index is None:
            index = _INDEXES[catalog.fingerprint] = build_index(catalog)
        return index
