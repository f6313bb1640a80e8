"""Splits: one fixed goal order per catalog, cut like the original's; disjoint, complete, seed-independent."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from serl_bench.envs.webshop._catalog import generate_catalog
from serl_bench.envs.webshop._splits import SPLIT_SOURCES, SPLITS, fix_goal_order, split_bounds, split_goals
from serl_bench.errors import UnknownNameError


@pytest.fixture(scope="module")
def catalog():
    return generate_catalog(600)


def _summary(catalog) -> dict:
    return {name: [(g.index, g.asin, g.instruction_text) for g in split_goals(catalog, name)] for name in SPLITS}


def test_split_names_and_sources():
    assert SPLITS == ("test", "eval", "train")
    assert SPLIT_SOURCES == {"test": "generated", "eval": "generated", "train": "generated"}


def test_original_cuts_at_and_above_the_originals_goal_count():
    for n in (12087, 30000):
        bounds = split_bounds(n)
        assert bounds == {"test": range(0, 500), "eval": range(500, 1500), "train": range(1500, n)}


def test_smaller_goal_sets_are_cut_in_the_same_proportions():
    bounds = split_bounds(2819)
    assert bounds["test"] == range(0, round(2819 * 500 / 12087)) == range(0, 117)
    assert bounds["eval"] == range(117, round(2819 * 1500 / 12087)) == range(117, 350)
    assert bounds["train"] == range(350, 2819)
    for n in range(0, 60):
        bounds = split_bounds(n)
        indices = [i for name in SPLITS for i in bounds[name]]
        assert indices == list(range(n))  # contiguous, disjoint, complete, in order
        if n >= 3:
            assert all(len(bounds[name]) >= 1 for name in SPLITS), n


def test_splits_are_disjoint_and_cover_every_goal(catalog):
    parts = {name: split_goals(catalog, name) for name in SPLITS}
    indices = [g.index for name in SPLITS for g in parts[name]]
    assert sorted(indices) == list(range(len(catalog.goals)))
    assert len(set(indices)) == len(indices)
    assert sum(len(p) for p in parts.values()) == len(catalog.goals)
    assert len(parts["test"]) < len(parts["eval"]) < len(parts["train"])
    assert parts["test"] == catalog.goals[:len(parts["test"])]


def test_unknown_split_is_an_unknown_name_error(catalog):
    with pytest.raises(UnknownNameError, match="unknown WebShop split 'valid'; valid: eval, test, train"):
        split_goals(catalog, "valid")


def test_goal_order_is_the_originals_shuffle():
    goals = list(range(12087))
    state = random.getstate()
    try:
        random.seed(233)  # what the original's SimServer does before its one shuffle
        expected = goals.copy()
        random.shuffle(expected)
    finally:
        random.setstate(state)
    assert fix_goal_order(goals) == expected
    assert goals == list(range(12087))  # input left alone


def test_splits_ignore_every_other_seed(catalog):
    before = _summary(catalog)
    random.seed(1)
    first = _summary(generate_catalog(600))
    random.seed(99999)
    second = _summary(generate_catalog(600))
    assert before == first == second
    assert split_goals(catalog, "test") == split_goals(catalog, "test")


def test_splits_are_the_same_in_a_fresh_process_with_another_hash_seed(catalog):
    code = ("import json, random; random.seed(7)\n"
            "from serl_bench.envs.webshop._catalog import generate_catalog\n"
            "from serl_bench.envs.webshop._splits import SPLITS, split_goals\n"
            "c = generate_catalog(600)\n"
            "print(json.dumps({'fp': c.fingerprint, 'splits': {n: [[g.index, g.asin, g.instruction_text] "
            "for g in split_goals(c, n)] for n in SPLITS}}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    other = json.loads(out)
    assert other["fp"] == catalog.fingerprint
    assert {n: [tuple(g) for g in goals] for n, goals in other["splits"].items()} == _summary(catalog)
