"""Goal instructions: the original's price bounds, and instruction texts for the generated catalog.

Price bound (``get_human_goals`` / ``get_synthetic_goals`` in the original ``engine/goal.py``): take the prices
of `PRICE_RANGE` (10, 20, ..., 990 dollars) above the product's price, keep the first four, draw two of them and
use the larger; the instruction then ends ``", and price lower than 40.00 dollars"``. With fewer than two such
prices (a product at 980 dollars or more) the goal has no bound: ``price_upper`` 1000000.0 and no price text.
The original draws from the process-wide ``random``; here each catalog draws from its own seeded generator, so
the bound is the same on every run.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar

NO_PRICE_BOUND = 1000000.0
PRICE_RANGE = tuple(10.0 * i for i in range(1, 100))

T = TypeVar("T")


class Draw:
    """Deterministic draws from one `random.Random`, leaner than its own helpers (catalogs make millions)."""

    __slots__ = ("random",)

    def __init__(self, rng: random.Random) -> None:
        self.random = rng.random

    def index(self, n: int) -> int:
        return int(self.random() * n)

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def between(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return low + int(self.random() * (high - low + 1))

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def subset(self, seq: Sequence[T], k: int | None) -> tuple[T, ...]:
        """``k`` distinct members of ``seq`` in random order (all of them, shuffled, for None)."""
        items = list(seq)
        n = len(items)
        k = n if k is None else k
        for i in range(k):
            j = i + int(self.random() * (n - i))
            items[i], items[j] = items[j], items[i]
        return tuple(items[:k])


def price_bound(price: float, draw: Draw) -> tuple[float, str]:
    """(price_upper, text to append to the instruction) for a product that costs ``price``."""
    start = bisect_right(PRICE_RANGE, price)
    candidates = PRICE_RANGE[start:start + 4]
    if len(candidates) < 2:
        return NO_PRICE_BOUND, ""
    upper = max(draw.subset(candidates, 2))
    return upper, f", and price lower than {upper:.2f} dollars"


# --- instructions for generated goals -----------------------------------------------------------------------

OPENERS = ("i need", "i want", "i am looking for", "i'm looking for", "find me", "i would like", "please get me",
           "im searching for", "looking for", "can you find me", "i want to buy", "help me find", "get me")

#: how a chosen option value is asked for, by option group ("{v}" is the value)
OPTION_PHRASES = {
    "color": ("in {v}", "in {v} color", "in the color {v}"),
    "size": ("in size {v}", "size {v}", "in the {v} size"),
    "flavor": ("{v} flavor", "in {v} flavor", "with {v} flavor"),
    "scent": ("{v} scent", "in the {v} scent"),
    "pack": ("{v}", "as a {v}"),
}

#: endings of attributes that describe (``gluten free``, ``heat resistant``): "a tea that is gluten free";
#: the others name a part or feature (``tea tree``, ``hidden storage``): "a shampoo with tea tree"
_DESCRIBING = ("free", "proof", "resistant", "friendly", "looking", "lasting", "ed", "ing", "able", "ible", "ic",
               "apply", "duty", "vegan", "decaf", "quick dry", "high speed", "one size", "travel size", "fair trade",
               "single origin", "single estate", "non slip", "easy clean", "easy to install")


def _describes(attribute: str) -> bool:
    return attribute.endswith(_DESCRIBING) and not attribute.startswith("with ")


_AN = ("a", "e", "i", "o", "u", "hdmi", "led ", "rfid", "spf", "fda", "hour")
_A = ("one", "uni", "usb", "usda", "uv ", "ul ", "use")


def _article(noun: str) -> str:
    if noun.endswith("s") and not noun.endswith("ss"):
        return ""
    return "an " if noun.startswith(_AN) and not noun.startswith(_A) else "a "


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def instruction_text(draw: Draw, noun: str, attributes: Sequence[str], options: Sequence[tuple[str, str]]) -> str:
    """A lowercase shopper's request for ``noun`` with ``attributes`` and ``(group, value)`` options.

    e.g. ``i need a gluten free herbal tea with compostable bags, in peppermint flavor`` (the price bound, when
    there is one, is appended by the caller).
    """
    noun = noun.lower()
    describing = [a for a in attributes if _describes(a)]
    naming = [a[5:] if a.startswith("with ") else a for a in attributes if not _describes(a)]
    if describing and len(describing) <= 2 and draw.random() < 0.5:  # "a gluten free herbal tea"
        head = f"{' and '.join(describing)} {noun}"
        phrase = f"{_article(head)}{head}"
        relative = False
    elif describing:  # "a herbal tea that is gluten free"
        verb = "that are" if not _article(noun) else draw.pick(("that is", "which is"))
        phrase = f"{_article(noun)}{noun} {verb} {_join(describing)}"
        relative = True
    else:
        phrase = f"{_article(noun)}{noun}"
        relative = False
    if naming:  # "... with compostable bags"
        has = " that has " if _article(noun) else " that have "
        phrase += draw.pick((" with ", ", with ") if relative else (" with ", ", with ", has)) + _join(naming)
    text = f"{draw.pick(OPENERS)} {phrase}"
    if options:
        asked = [draw.pick(OPTION_PHRASES.get(group, ("{v}",))).format(v=value) for group, value in options]
        text += f"{draw.pick((', ', ' ', ', and '))}{_join(asked)}"
    return text
