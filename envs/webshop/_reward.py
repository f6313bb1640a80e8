"""WebShop's purchase reward, as the original computes it (``web_agent_site/engine/goal.py``, ``get_reward``).

    total = r_type * (attribute matches + option matches + r_price) / (#goal attributes + #goal options + 1)

* **type** (`type_reward`): ``query_match`` (same search query), ``category_match`` (at least two breadcrumb levels
  in common, order ignored) and ``title_score`` (share of the goal title's nouns found among the bought title's
  nouns, `_nouns.title_nouns`). ``r_type`` is 1.0, 0.5 when none of the three matches (title score 0.2 or less),
  0.1 when the title score is under 0.1 and 0.0 when it is 0.
* **attributes** (`attribute_reward`): a goal attribute counts when some product attribute scores above 85 on
  ``token_set_ratio``, or else when it is a substring of the lowercased title, bullet points or description.
* **options** (`option_reward`): each goal option counts when some chosen option value scores above 85, both
  sides first reduced to the first colour of the original's ``COLOR_SET`` that they contain.
* **price**: 1 when the price paid is at most ``price_upper``.

Fuzzy scores are thefuzz's: the strings are cleaned as thefuzz's ``full_process`` does (characters 128-255
dropped, everything but letters and digits made a space, lowercased, trimmed), scored by rapidfuzz's
``token_set_ratio`` and rounded to an integer before the ``> 85`` test (thefuzz rounds; an unrounded 85.3 would
otherwise pass). That is exactly thefuzz >= 0.20 (tests/webshop/test_reward.py compares where thefuzz is
installed). The original pinned thefuzz 0.19, whose pure-Python ``difflib`` ratio gives other low scores; over
the 23,274 attribute and option pairs its goals meet in the generated 1,000-product catalog, no ``> 85``
decision differs. Nothing is clamped that the original does not clamp. Two inputs the original cannot handle are
given a value instead of an exception: a goal with no attributes (``r_att`` None, as the original does for options)
and a non-positive ``price_upper`` (``r_price`` None, counted 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from ._data import Goal, Product
from ._nouns import title_nouns

FUZZY_THRESHOLD = 85  #: a fuzzy match needs a rounded token_set_ratio strictly above this

#: the original's ``normalize.COLOR_SET``: an option value stands for the first of these it contains
COLOR_SET = (
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure",
    "banana", "beige", "black", "blue", "blush", "bordeaux", "bronze",
    "brown", "burgundy", "camel", "camo", "caramel", "champagne",
    "charcoal", "cheetah", "chestnut", "chocolate", "christmas", "coffee",
    "cognac", "copper", "coral", "cranberry", "cream", "crystal", "dark",
    "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite",
    "grape", "graphite", "grass", "gray", "green", "grey", "heather", "indigo",
    "ivory", "ivy", "khaki", "lavender", "lemon", "leopard", "light", "lilac",
    "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint", "mocha",
    "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive",
    "orange", "peach", "pewter", "pink", "plum", "purple", "rainbow", "red",
    "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver", "skull",
    "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal",
    "tiger", "turquoise", "violet", "walnut", "wheat", "white", "wine", "yellow",
)

_LATIN1 = {i: None for i in range(128, 256)}  # thefuzz's ascii_only: drops these code points only


@dataclass(frozen=True)
class TypeMatch:
    """The type reward and what it was made of (the original's ``get_type_reward`` dict)."""

    r_type: float
    query_match: bool
    category_match: bool
    title_score: float


@dataclass(frozen=True)
class Reward:
    """One purchase scored against one goal; ``total`` is what the environment pays out."""

    total: float
    r_type: float
    r_att: float | None  #: share of goal attributes matched (None for a goal without attributes)
    r_option: float | None  #: share of goal options matched (None for a goal without options, as the original)
    r_price: bool | None  #: price <= price_upper (None when price_upper <= 0, as the original)
    query_match: bool
    category_match: bool
    title_score: float
    num_attr_matches: int
    num_option_matches: int
    w_att: float  #: weight of the attribute share in the total (before r_type)
    w_option: float
    w_price: float

    def info(self) -> dict[str, float | bool]:
        """The original's ``verbose=True`` info dict: same keys, present under the same conditions."""
        info: dict[str, float | bool] = {
            "r_type": self.r_type,
            "r_att": self.r_att,
            "w_att": self.w_att,
            "query_match": self.query_match,
            "category_match": self.category_match,
            "title_score": self.title_score,
        }
        if self.r_option is not None:
            info["r_option"] = self.r_option
            info["w_option"] = self.w_option
        if self.r_price is not None:
            info["r_price"] = self.r_price
            info["w_price"] = self.w_price
        return info


@lru_cache(maxsize=1 << 16)
def _clean(text: str) -> str:
    """thefuzz's ``full_process(text, force_ascii=True)``."""
    return default_process(text.translate(_LATIN1))


def token_set_ratio(a: str, b: str) -> int:
    """``thefuzz.fuzz.token_set_ratio(a, b)``: processed, scored, rounded to an integer (0 for empty input)."""
    return round(fuzz.token_set_ratio(_clean(a), _clean(b), processor=None))


def fuzzy_match(a: str, b: str) -> bool:
    return token_set_ratio(a, b) > FUZZY_THRESHOLD


def normalize_color(text: str) -> str:
    """The first `COLOR_SET` colour contained in ``text`` (substring, list order), else ``text`` unchanged."""
    for color in COLOR_SET:
        if color in text:
            return color
    return text


def _category_levels(breadcrumb: str) -> set[str]:
    return {level.strip() for level in breadcrumb.split("›")}


def type_reward(product: Product, goal: Goal) -> TypeMatch:
    """Whether the bought product is the kind of thing the goal asks for (query, breadcrumb, title nouns)."""
    query_match = product.query == goal.query
    category_match = len(_category_levels(product.product_category) & _category_levels(goal.product_category)) >= 2
    desired = title_nouns(goal.name)
    if desired:
        title_score = len(set(title_nouns(product.title)) & set(desired)) / len(desired)
    else:
        title_score = 0.2
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return TypeMatch(r_type, query_match, category_match, title_score)


def attribute_reward(product: Product, goal_attributes: Sequence[str]) -> tuple[float | None, int]:
    """(share of goal attributes the product has, how many): fuzzy on its attributes, else a substring of its text."""
    matches = 0
    text = None
    for g_attr in goal_attributes:
        if any(fuzzy_match(p_attr, g_attr) for p_attr in product.attributes):
            matches += 1
            continue
        if text is None:
            text = (product.title.lower(), " ".join(product.bullet_points).lower(), product.description.lower())
        if any(g_attr in part for part in text):
            matches += 1
    return (matches / len(goal_attributes) if goal_attributes else None), matches


def option_reward(purchased_options: Iterable[str], goal_options: Sequence[str]) -> tuple[float | None, int]:
    """(share of goal options matched by a chosen value, how many); share None when the goal names no option."""
    purchased = [normalize_color(o) for o in purchased_options]
    matches = 0
    for g_option in goal_options:
        g_option = normalize_color(g_option)
        if any(fuzzy_match(p_option, g_option) for p_option in purchased):
            matches += 1
    return (matches / len(goal_options) if goal_options else None), matches


def compute_reward(product: Product, goal: Goal, price: float, options: Mapping[str, str]) -> Reward:
    """Score buying ``product`` at ``price`` with ``options`` (option group -> chosen value) against ``goal``."""
    type_match = type_reward(product, goal)
    r_price = (price <= goal.price_upper) if goal.price_upper > 0 else None
    r_att, num_attr = attribute_reward(product, goal.attributes)
    r_option, num_option = option_reward(options.values(), goal.goal_options)
    denominator = len(goal.attributes) + len(goal.goal_options) + 1
    total = (num_attr + num_option + (r_price or 0)) / denominator * type_match.r_type
    return Reward(
        total=total,
        r_type=type_match.r_type,
        r_att=r_att,
        r_option=r_option,
        r_price=r_price,
        query_match=type_match.query_match,
        category_match=type_match.category_match,
        title_score=type_match.title_score,
        num_attr_matches=num_attr,
        num_option_matches=num_option,
        w_att=len(goal.attributes) / denominator,
        w_option=len(goal.goal_options) / denominator,
        w_price=1 / denominator,
    )
