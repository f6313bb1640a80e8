"""WebShop's splits: test, eval and train cut from the catalog's one fixed goal order, as the original cuts them.

The original shuffles its goal list once (``random.seed(233); random.shuffle(goals)`` in ``SimServer``) and its
baselines take goal indices 0-499 as test, 500-1499 as eval and 1500 onwards as train. `fix_goal_order` does the
same shuffle, with a generator of its own seeded 233, when a catalog is built, so on the original's data our
goal order, and so each split, is the original's. The order is a function of the catalog alone: no worker,
environment or run seed enters it, so every process agrees on which goals are test goals and no train goal can
drift into test (as it does where each worker shuffles with its own seed).

Split sizes. With at least `ORIGINAL_GOALS` goals (12,087, the original's human goals) the cut is the
original's: ``[0, 500)``, ``[500, 1500)``, ``[1500, n)``. With fewer goals it is scaled by the same proportions:
test ends at ``round(n * 500 / 12087)``, eval at ``round(n * 1500 / 12087)``, each split keeping at least one goal
where ``n >= 3``. The generated 1,000-product catalog, for example, has 2,688 goals: 111 test, 223 eval
and 2,354 train.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from serl_bench.errors import UnknownNameError

from ._data import Catalog, Goal

SPLITS = ("test", "eval", "train")
#: where the default catalog's splits come from; a catalog read from the original files has source "original"
SPLIT_SOURCES = {name: "generated" for name in SPLITS}
GOAL_ORDER_SEED = 233  # the original's random.seed(233) before its one shuffle
ORIGINAL_GOALS = 12087
ORIGINAL_CUTS = (500, 1500)

T = TypeVar("T")


def fix_goal_order(goals: Sequence[T]) -> list[T]:
    """The one shuffle every catalog's goal order comes from (the original's, for the same goal list)."""
    ordered = list(goals)
    random.Random(GOAL_ORDER_SEED).shuffle(ordered)
    return ordered


def split_bounds(n_goals: int) -> dict[str, range]:
    """Goal index range of each split for a catalog of ``n_goals`` goals."""
    if n_goals >= ORIGINAL_GOALS:
        test_end, eval_end = ORIGINAL_CUTS
    else:
        test_end = round(n_goals * ORIGINAL_CUTS[0] / ORIGINAL_GOALS)
        eval_end = round(n_goals * ORIGINAL_CUTS[1] / ORIGINAL_GOALS)
        if n_goals >= 3:
            test_end = max(test_end, 1)
            eval_end = min(max(eval_end, test_end + 1), n_goals - 1)
    return {"test": range(0, test_end), "eval": range(test_end, eval_end), "train": range(eval_end, n_goals)}


def split_goals(catalog: Catalog, split: str) -> tuple[Goal, ...]:
    """The goals of ``split`` ("test", "eval" or "train") in the catalog's fixed order."""
    if split not in SPLITS:
        raise UnknownNameError("WebShop split", split, SPLITS)
    bounds = split_bounds(len(catalog.goals))[split]
    return catalog.goals[bounds.start:bounds.stop]
