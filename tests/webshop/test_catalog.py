"""The generated catalog: deterministic, realistic in shape, and every goal solvable but not trivial."""

from __future__ import annotations

import dataclasses
import re
import time
from itertools import combinations

import pytest

from serl_bench.envs.webshop._catalog import (
    _brands,
    catalog_fingerprint,
    generate_catalog,
    load_catalog,
)
from serl_bench.envs.webshop._data import Catalog, Product
from serl_bench.envs.webshop._goals import NO_PRICE_BOUND, PRICE_RANGE
from serl_bench.envs.webshop._nouns import title_nouns
from serl_bench.envs.webshop._reward import attribute_reward, compute_reward, normalize_color, token_set_ratio
from serl_bench.envs.webshop._vocabulary import ATTRIBUTE_SENTENCES, CATEGORIES, PRODUCT_TYPES
from serl_bench.errors import ConfigError

PRICE_TEXT = re.compile(r", and price lower than (\d+\.\d\d) dollars$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(1000)


def _goal_choice(product: Product, goal_options: tuple[str, ...]) -> dict[str, str]:
    """For each of the product's option groups, a goal value it offers, else its first value."""
    return {group: next((v for v in values if v in goal_options), values[0])
            for group, values in product.options.items()}


# --- determinism ----------------------------------------------------------------------------------------------


def test_same_arguments_same_catalog_and_fingerprint(catalog):
    again = generate_catalog(1000)
    assert again.fingerprint == catalog.fingerprint
    assert again.products == catalog.products and again.goals == catalog.goals
    assert re.fullmatch(r"[0-9a-f]{64}", catalog.fingerprint)
    assert catalog.source == "generated"


def test_seed_and_size_change_the_catalog(catalog):
    other_seed = generate_catalog(1000, seed=1)
    assert other_seed.fingerprint != catalog.fingerprint
    assert [p.asin for p in other_seed.products] != [p.asin for p in catalog.products]
    smaller = generate_catalog(400)
    assert smaller.fingerprint != catalog.fingerprint
    assert smaller.products == catalog.products[:400]  # products are a prefix; goals are not


def test_fingerprint_covers_every_field(catalog):
    products, goals = list(catalog.products[:50]), list(catalog.goals[:50])
    base = catalog_fingerprint(products, goals, "generated")
    assert base == catalog_fingerprint(list(products), list(goals), "generated")
    assert catalog_fingerprint(products, goals, "original") != base
    for name, value in [("price", products[3].price + 0.01), ("title", products[3].title + "!"),
                        ("options", {}), ("reviews", ()), ("rating", 4.9), ("bullet_points", ())]:
        changed = products.copy()
        changed[3] = dataclasses.replace(products[3], **{name: value})
        assert catalog_fingerprint(changed, goals, "generated") != base, name
    changed_goals = goals.copy()
    changed_goals[7] = dataclasses.replace(goals[7], price_upper=goals[7].price_upper + 10)
    assert catalog_fingerprint(products, changed_goals, "generated") != base


def test_load_catalog_builds_once_per_process():
    assert load_catalog(120) is load_catalog(120)
    assert load_catalog(120).fingerprint == generate_catalog(120).fingerprint


@pytest.mark.parametrize("bad", [0, -5, "1000", True, 1.5, 2_000_000])
def test_bad_sizes_are_one_line_config_errors(bad):
    with pytest.raises(ConfigError, match="n_products") as raised:
        generate_catalog(bad)
    assert "\n" not in str(raised.value)


def test_bad_seed_and_all_products_without_data():
    with pytest.raises(ConfigError, match="seed"):
        generate_catalog(10, seed="abc")
    with pytest.raises(ConfigError, match="data_path"):
        load_catalog(None)


def test_generation_is_fast():
    start = time.perf_counter()
    generate_catalog(1000, seed=7)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, f"1,000 products took {elapsed:.2f} s"  # ~0.07 s; loose for slow CI machines


# --- products -------------------------------------------------------------------------------------------------


def test_products_look_like_the_originals(catalog):
    products = catalog.products
    assert len(products) == 1000
    assert len({p.asin for p in products}) == 1000
    assert all(re.fullmatch(r"B0[0-9A-Z]{8}", p.asin) for p in products)
    assert {p.category for p in products} == set(CATEGORIES)
    for p in products:
        levels = p.product_category.split(" › ")
        assert len(levels) >= 3 and all(levels), p.product_category
        assert p.title and p.description and p.bullet_points and p.attributes
        assert p.query == p.query.lower().strip()
        assert len(set(p.attributes)) == len(p.attributes)
        for group, values in p.options.items():
            assert group == group.lower() and values and len(set(values)) == len(values)
        assert all(1 <= r.score <= 5 for r in p.reviews)
        if p.reviews:
            assert p.rating == round(sum(r.score for r in p.reviews) / len(p.reviews), 1)
        else:
            assert p.rating is None
        if len(p.pricing) == 1:
            assert p.price == p.pricing[0]
        else:
            low, high = p.pricing
            assert len(p.pricing) == 2 and 0 < low < high and low <= p.price <= high
            assert p.price == round(p.price, 2)
    assert 0.15 < sum(len(p.pricing) == 2 for p in products) / 1000 < 0.45  # some price ranges
    assert any(not p.options for p in products) and any(len(p.options) >= 2 for p in products)
    assert sum(bool(p.reviews) for p in products) > 500


def test_titles_have_nouns_and_match_themselves(catalog):
    for p in catalog.products[:300]:
        nouns = title_nouns(p.title)
        assert nouns, p.title
        assert p.title.split()[0].lower() in nouns  # the brand


def test_absent_attributes_are_nowhere_in_a_product(catalog):
    """What makes goals exact: an attribute a product lacks is neither fuzzy-close to its attributes nor a
    substring of its title, bullet points or description, so the reward cannot credit it."""
    pools = {t.query: t.attributes for t in PRODUCT_TYPES}
    checked = 0
    for p in catalog.products:
        for absent in set(pools[p.query]) - set(p.attributes):
            assert attribute_reward(p, (absent,)) == (0.0, 0), (p.title, absent)
            checked += 1
        assert attribute_reward(p, p.attributes) == (1.0, len(p.attributes))
    assert checked > 1000


# --- vocabulary -------------------------------------------------------------------------------------------------


def test_vocabulary_pools_are_told_apart_by_the_reward():
    assert len(PRODUCT_TYPES) >= 30 and {t.category for t in PRODUCT_TYPES} == set(CATEGORIES)
    assert len({t.query for t in PRODUCT_TYPES}) == len(PRODUCT_TYPES)
    for t in PRODUCT_TYPES:
        for a, b in combinations(t.attributes, 2):
            assert token_set_ratio(a, b) <= 85 and a not in b and b not in a, (t.query, a, b)
        values = [v for _, group in t.options for v in group]
        assert len(set(values)) == len(values), t.query  # no value in two groups
        for a, b in combinations(values, 2):
            assert token_set_ratio(normalize_color(a), normalize_color(b)) <= 85, (t.query, a, b)
        fixed_texts = [*t.heads, *t.styles, *t.audiences, *t.features, t.blurb, *ATTRIBUTE_SENTENCES]
        for attribute in t.attributes:
            assert not any(attribute in text.lower() for text in fixed_texts), (t.query, attribute)


def test_brands_contain_no_attribute():
    import random

    attributes = {a.replace(" ", "") for t in PRODUCT_TYPES for a in t.attributes}
    brands = _brands(random.Random(0))
    assert len(brands) == 400
    assert not [b for b in brands if any(a in b.lower() for a in attributes)]


# --- goals ----------------------------------------------------------------------------------------------------


def test_goals_follow_the_original_format(catalog):
    goals = catalog.goals
    assert 2000 < len(goals) < 4000
    assert [g.index for g in goals] == list(range(len(goals)))
    for g in goals:
        product = catalog.product(g.asin)
        assert (g.category, g.query, g.name, g.product_category) == (
            product.category, product.query, product.title, product.product_category)
        assert g.instruction_text == g.instruction_text.lower()
        assert 1 <= len(g.attributes) <= 3 and set(g.attributes) <= set(product.attributes)
        assert all(any(o in values for values in product.options.values()) for o in g.goal_options)
        assert g.weight == 1.0
        match = PRICE_TEXT.search(g.instruction_text)
        if g.price_upper == NO_PRICE_BOUND:
            assert match is None
        else:
            assert match and float(match.group(1)) == g.price_upper and g.price_upper in PRICE_RANGE
            bound_choices = [p for p in PRICE_RANGE if p > product.price][:4]
            assert g.price_upper in bound_choices[1:]  # the larger of two drawn from the first four above
    texts = {g.instruction_text for g in goals}
    assert len(texts) > 0.95 * len(goals)  # varied
    assert sum(bool(g.goal_options) for g in goals) > 0.4 * len(goals)
    assert {len(g.attributes) for g in goals} == {1, 2, 3}
    assert all(t.split()[0] in {"i", "i'm", "im", "find", "please", "looking", "can", "help", "get"} for t in texts)


def test_every_goal_is_solvable_with_its_own_product(catalog):
    for g in catalog.goals:
        product = catalog.product(g.asin)
        reward = compute_reward(product, g, product.price, _goal_choice(product, g.goal_options))
        assert reward.total == 1.0, (g.instruction_text, reward)


def test_every_goal_names_the_type_of_its_own_product(catalog):
    """The product noun a goal asks for (the longest product-type head its instruction names) is in the title or
    the category breadcrumb of the goal's target product."""
    heads = sorted({h.lower() for t in PRODUCT_TYPES for h in t.heads}, key=len, reverse=True)
    for g in catalog.goals:
        asked = next((h for h in heads if h in g.instruction_text), None)
        product = catalog.product(g.asin)
        assert asked is not None and (asked in product.title.lower() or asked in product.product_category.lower()), \
            (g.instruction_text, product.title)


def test_every_goal_has_a_distractor_from_the_same_query(catalog):
    by_query: dict[str, list[Product]] = {}
    for p in catalog.products:
        by_query.setdefault(p.query, []).append(p)
    for g in catalog.goals:
        rivals = [p for p in by_query[g.query] if p.asin != g.asin]
        assert any(compute_reward(p, g, p.price, _goal_choice(p, g.goal_options)).total < 1.0 for p in rivals), \
            g.instruction_text

