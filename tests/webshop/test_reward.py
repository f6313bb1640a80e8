"""The purchase reward against the original WebShop's own tests, case for case.

``test_get_type_reward`` ... ``test_get_reward`` and ``test_normalize_color`` port every case of
``tests/web-agent-site/engine/test_goal.py`` and ``test_normalize.py`` in princeton-nlp/WebShop: same inputs, same
expected values. Where the original passes dicts with only some keys, the rest of our `Product`/`Goal` is filled
with values the function under test never reads.
"""

from __future__ import annotations

import dataclasses
import time
from math import isclose

import pytest

from serl_bench.envs.webshop._data import Goal, Product
from serl_bench.envs.webshop._nouns import title_nouns
from serl_bench.envs.webshop._reward import (
    Reward,
    attribute_reward,
    compute_reward,
    normalize_color,
    option_reward,
    token_set_ratio,
    type_reward,
)


def make_product(**fields) -> Product:
    base = dict(asin="B000000001", category="beauty", query="", product_category="", title="", description="",
                bullet_points=(), pricing=(10.0,), price=10.0, options={}, attributes=())
    return Product(**{**base, **fields})


def make_goal(**fields) -> Goal:
    base = dict(index=0, asin="B000000001", category="beauty", query="", name="", product_category="",
                instruction_text="", attributes=(), price_upper=1000000.0, goal_options=())
    return Goal(**{**base, **fields})


def test_get_type_reward():
    goal = make_goal(query="Query 1", product_category="a › b › c", name="Name 1")
    purchased = make_product(query="Query 1", product_category="a › b › c", title="Name 1")
    result = type_reward(purchased, goal)
    assert result.r_type == 1.0
    assert result.query_match is True
    assert result.category_match is True
    assert result.title_score == 1

    # Query mismatch
    purchased = dataclasses.replace(purchased, query="Query 2")
    assert type_reward(purchased, goal).query_match is False

    # Out of order / non-matching / partially matching / duplicate categories
    for breadcrumb, expected in [("b › c › a", True), ("d › e › f", False), ("a › d › b", True),
                                 ("a › a › b", True), ("a › a › d", False)]:
        purchased = dataclasses.replace(purchased, product_category=breadcrumb)
        assert type_reward(purchased, goal).category_match is expected, breadcrumb

    # Similar product names
    goal = dataclasses.replace(goal, name="Mens D.O.N. Issue 2 Gca Basketball Sneakers Shoes Casual - Off White")
    purchased = dataclasses.replace(purchased, title="PEAK High Top Mens Basketball Shoes Lou Williams Streetball "
                                                     "Master Breathable Non Slip Outdoor Sneakers")
    assert isclose(type_reward(purchased, goal).title_score, 0.333, abs_tol=1e-2)

    # Slightly similar product names
    goal = dataclasses.replace(goal, name="Saireed UL Listed 2 Prong Power Cord for JBL Bar 3.1 Bar 2.1 Channel 4K "
                                          "Ultra HD Soundbar Home Theater System Subwoofer")
    purchased = dataclasses.replace(purchased, title="BRST AC Power Cord Outlet Socket Cable Plug Lead for Panasonic "
                                                     "SC-HT830V DVD/VCR Combo Home Theater System")
    assert isclose(type_reward(purchased, goal).title_score, 0.3, abs_tol=1e-2)

    goal = dataclasses.replace(goal, name="Saireed UL Listed 2 Prong Power Cord for JBL Bar 3.1 Bar 2.1 Channel 4K "
                                          "Ultra HD Soundbar")
    assert isclose(type_reward(purchased, goal).title_score, 0.15, abs_tol=1e-2)

    # Completely different product names
    goal = dataclasses.replace(goal, name="Rusticware 921ORB Kitchen and Bath Cabinet Knob")
    purchased = dataclasses.replace(purchased, title="Minkissy 2pcs Stainless Steel Eyebrow Tweezers Blackhead Acne "
                                                     "Remover Portable Makeup Tweezers (Silver)")
    assert type_reward(purchased, goal).title_score < 0.05


def test_get_attribute_reward():
    goal_attributes = ("tea tree", "essential oils", "natural ingredients")

    # Exact match
    purchased = make_product(attributes=("tea tree", "essential oil", "natural ingredients"))
    assert attribute_reward(purchased, goal_attributes) == (1, 3)

    # Partial match
    purchased = make_product(attributes=("essential oil", "natural ingredients"), title="", bullet_points=(),
                             description="")
    r_attr, matches = attribute_reward(purchased, goal_attributes)
    assert r_attr == 2.0 / 3.0
    assert matches == 2

    # Goal attributes found in the purchased product's text, not its attributes
    purchased = make_product(attributes=(), title="",
                             bullet_points=("This shampoo has essential oils and smells like lemons",),
                             description="Best shampoo on the market, made with natural ingredients")
    r_attr, matches = attribute_reward(purchased, goal_attributes)
    assert r_attr == 2.0 / 3.0
    assert matches == 2

    # No match
    purchased = make_product(attributes=("tea bag", "earl gray", "lipton"), title="English tea for breakfast",
                             bullet_points=("Soothing aroma", "Calming, great feeling"),
                             description="Best tea made by Lipton, great to pair with breakfast")
    assert attribute_reward(purchased, goal_attributes) == (0, 0)


def test_get_option_reward():
    # Exact match
    goal = ["grey", "XL", "pack of 12"]
    r_option, matches = option_reward(["pack of 12", "grey", "XL"], goal)
    assert matches == len(goal)
    assert r_option == 1

    # Partial match
    r_option, matches = option_reward(["pack of 12", "blue", "XL"], goal)
    assert matches == len(goal) - 1
    assert r_option == 2.0 / 3.0

    # Fuzzy match
    goal = ["cool powder snow", "XL", "pack of 12"]
    r_option, matches = option_reward(["pack of 12", "powder snow", "XL"], goal)
    assert matches == len(goal)
    assert r_option == 1

    # Empty goal options
    assert option_reward(["goal 1", "goal 2"], []) == (None, 0)

    # Empty purchased options
    assert option_reward([], ["goal 1", "goal 2"]) == (0, 0)


def test_get_reward():
    # Exact match. The original's goal options are a dict there; its reward fuzzy-matches the (name, value)
    # items, which match the same chosen values as the bare values do in every case below.
    goal = make_goal(query="Query 1", product_category="a › b › c",
                     name="Mens D.O.N. Issue 2 Gca Basketball Sneakers Shoes Casual - Off White",
                     attributes=("tea tree", "essential oils", "natural ingredients"),
                     goal_options=("grey", "XL"), price_upper=40.00)
    options = {"color": "grey", "size": "XL"}
    purchased = make_product(query="Query 1", product_category="a › b › c",
                             title="Mens D.O.N. Issue 2 Gca Basketball Sneakers Shoes Casual - Off White",
                             attributes=("tea tree", "essential oil", "natural ingredients"),
                             bullet_points=(), description="")
    assert compute_reward(purchased, goal, 35, options).total == 1

    # Variation in r_attributes. The original sets BulletPoints to a *string* here, which its reward joins
    # character by character ("T h i s ..."), so "essential oils" is not found; a tuple of its characters is
    # exactly that input. (Its product has a ``name``, read by the type reward, and a ``Title`` "", read by the
    # attribute reward; our one ``title`` keeps the name, which holds none of the goal attributes either.)
    purchased = dataclasses.replace(
        purchased, attributes=(),
        bullet_points=tuple("This shampoo has essential oils and smells like lemons"),
        description="Best shampoo on the market, made with natural ingredients")
    assert isclose(compute_reward(purchased, goal, 35, options).total, 2.0 / 3.0, abs_tol=1e-2)

    # Variation in r_option
    goal = dataclasses.replace(goal, goal_options=("grey", "XL", "pack of 12"))
    assert isclose(compute_reward(purchased, goal, 35, options).total, 0.5714, abs_tol=1e-2)

    # Variation in r_type
    goal = dataclasses.replace(goal, name="Saireed UL Listed 2 Prong Power Cord for JBL Bar 3.1 Bar 2.1 Channel 4K "
                                          "Ultra HD Soundbar")
    purchased = dataclasses.replace(
        purchased, title="BRST AC Power Cord Outlet Socket Cable Plug Lead for Panasonic SC-HT830V DVD/VCR Combo "
                         "Home Theater System",
        query="Query 2", product_category="a › d › e")
    assert isclose(compute_reward(purchased, goal, 35, options).total, 0.2857, abs_tol=1e-2)


def test_normalize_color():
    suite = [("", ""), ("black forest", "black"), ("violet lavender", "lavender"), ("steelivy fuchsia", "fuchsia"),
             ("123alabaster", "alabaster"), ("webshop", "webshop")]
    for color_string, expected in suite:
        assert normalize_color(color_string) == expected


# --- beyond the original's tests -----------------------------------------------------------------------------


def test_reward_components_exact_values():
    goal = make_goal(query="shampoo", product_category="Beauty › Hair Care › Shampoo", name="Lumo Tea Tree Shampoo",
                     attributes=("tea tree", "sulfate free"), goal_options=("16 ounce",), price_upper=20.0)
    product = make_product(query="shampoo", product_category="Beauty › Hair Care › Shampoo",
                           title="Lumo Tea Tree Shampoo", attributes=("tea tree",))
    reward = compute_reward(product, goal, 25.0, {"size": "16 ounce"})
    # 1 attribute of 2, 1 option of 1, price over the bound: (1 + 1 + 0) / (2 + 1 + 1)
    assert reward.total == 0.5
    assert (reward.r_att, reward.r_option, reward.r_price) == (0.5, 1.0, False)
    assert (reward.num_attr_matches, reward.num_option_matches) == (1, 1)
    assert (reward.w_att, reward.w_option, reward.w_price) == (0.5, 0.25, 0.25)
    assert reward.info() == {"r_type": 1.0, "r_att": 0.5, "w_att": 0.5, "query_match": True, "category_match": True,
                             "title_score": 1.0, "r_option": 1.0, "w_option": 0.25, "r_price": False,
                             "w_price": 0.25}


def test_info_omits_option_keys_without_goal_options_and_r_type_scales_total():
    goal = make_goal(query="q", name="Walnut Desk", attributes=("easy assembly",), price_upper=100.0)
    product = make_product(query="other", title="Walnut Desk Lamp", description="Easy assembly in minutes")
    reward = compute_reward(product, goal, 50.0, {})
    assert "r_option" not in reward.info() and reward.r_option is None
    assert reward.title_score == 1.0 and reward.r_type == 1.0 and reward.total == 1.0
    unrelated = dataclasses.replace(product, title="Garden Hose Nozzle")
    assert compute_reward(unrelated, goal, 50.0, {}).total == 0.0  # no shared noun: r_type 0


def test_type_reward_thresholds():
    goal = make_goal(query="q", product_category="x › y", name="Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel "
                                                                "India Juliet Kilo")  # 11 nouns
    other = make_product(query="other", product_category="z")
    assert type_reward(dataclasses.replace(other, title="Alpha Bravo Charlie"), goal).r_type == 1.0  # 3/11 > 0.2
    assert type_reward(dataclasses.replace(other, title="Alpha Bravo"), goal).r_type == 0.5  # 2/11, no match
    assert type_reward(dataclasses.replace(other, title="Alpha"), goal).r_type == 0.1  # 1/11 < 0.1
    assert type_reward(dataclasses.replace(other, title="Zulu"), goal).r_type == 0.0
    no_nouns = dataclasses.replace(goal, name="for the 2")
    assert type_reward(other, no_nouns).title_score == 0.2  # the original's score for a noun-less goal title
    assert type_reward(other, no_nouns).r_type == 0.5


def test_title_nouns():
    assert title_nouns("Saireed UL Listed 2 Prong Power Cord for JBL") == ("saireed", "ul", "prong", "power",
                                                                          "cord", "jbl")
    assert title_nouns("Mens D.O.N. Issue") == ("mens", "d", "o", "n", "issue")
    assert title_nouns("Men's Soft Cotton T-Shirt with Pocket") == ("men", "soft", "cotton", "t", "shirt", "pocket")
    assert title_nouns("organic green tea with natural honey") == ("tea", "honey")
    assert title_nouns("Upgraded Red Bed Sheet 4K 2pcs, 3 x 5") == ("red", "bed", "sheet", "4k", "2pcs")


def test_fuzzy_scores_follow_thefuzz_rounding_and_cleaning():
    assert token_set_ratio("essential oil", "essential oils") == 96
    assert token_set_ratio("XL", "x-large") == 22
    assert token_set_ratio("Pack of 12", "pack of 12!") == 100  # case and punctuation cleaned away
    assert token_set_ratio("", "anything") == 0
    assert token_set_ratio("café", "caf") == 100  # é (U+00E9) is dropped like thefuzz's ascii_only does
    # 14 inch vs 18 inch scores 85.71...: rounded to 86, a match
    assert token_set_ratio("14 inch", "18 inch") == 86


def test_fuzzy_scores_equal_thefuzz_where_installed():
    thefuzz = pytest.importorskip("thefuzz.fuzz")  # dev-only comparison, thefuzz is not a dependency
    pairs = [("tea tree", "tea tree oil"), ("essential oil", "essential oils"), ("gluten free", "gluten-free"),
             ("sugar free", "gluten free"), ("cool powder snow", "powder snow"), ("grey", "gray"), ("XL", "xx-large"),
             ("pack of 12", "pack of 6"), ("Crème Brûlée", "creme brulee"), ("16 ounce", "12 ounce"),
             ("14 inch", "18 inch"), ("", "x"), ("long lasting", "long-lasting wear"), ("easy clean", "easy to clean"),
             ("high quality", "quality"), ("natural looking", "natural"), ("naïve ☃ art", "naive art"),
             ("under_score", "under score")]
    for a, b in pairs:
        assert token_set_ratio(a, b) == thefuzz.token_set_ratio(a, b), (a, b)


def test_compute_reward_is_fast():
    goal = make_goal(query="hair extension", product_category="Beauty › Hair Care › Extensions",
                     name="Lumora Clip-In Hair Extensions 18 Inch Natural Looking Straight Hairpiece for Women",
                     attributes=("natural looking", "heat resistant", "long lasting"),
                     goal_options=("dark brown", "18 inch"), price_upper=40.0)
    product = make_product(query="hair extension", product_category="Beauty › Hair Care › Extensions",
                           title="Velora Synthetic Hair Extensions Wavy Hairpiece 22 Inch for Women",
                           attributes=("heat resistant", "tangle free", "easy to apply", "high quality"),
                           bullet_points=("Soft and tangle free", "Heat resistant fibre up to 180C"),
                           description="A wavy hairpiece that clips in within seconds.")
    compute_reward(product, goal, 30.0, {"color": "dark brown", "size": "22 inch"})  # warm the caches
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        reward = compute_reward(product, goal, 30.0, {"color": "dark brown", "size": "22 inch"})
    per_call = (time.perf_counter() - start) / n
    assert isinstance(reward, Reward) and 0 < reward.total < 1
    assert per_call < 1e-3, f"{per_call * 1e6:.0f} us per reward"
