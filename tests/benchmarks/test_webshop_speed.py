"""WebShop speed: an env step in text and browser mode, a search, and building the search index.

Targets: text-mode step <= 5 ms median on 1,000 products; search <= 20 ms median on 100,000 products.
The 100k catalog is generated once for the module (a few seconds) and its index built once more to time it.
Measure with ``pytest tests/benchmarks --benchmark-enable``; by default each runs once, as a test.
"""

import itertools
import os
import shutil

import gymnasium as gym
import pytest

import serl_bench.envs  # noqa: F401  (registers serl/WebShop-v0)
from serl_bench.envs.webshop._catalog import generate_catalog, load_catalog
from serl_bench.envs.webshop._search import build_index, search_index

SIZES = {"1k": 1_000, "100k": 100_000}


@pytest.fixture(scope="module")
def catalogs():
    return {}


def catalog(catalogs, size):
    if size not in catalogs:
        catalogs[size] = load_catalog(SIZES[size]) if size == "1k" else generate_catalog(SIZES[size])
    return catalogs[size]


def tour(env):
    """A never-ending walk over every kind of page: search, results pages, an item, an option, a tab, back."""
    env.reset(seed=0, options={"task_id": 0})
    hits = [a for a in env.step("search[<query>]")[4]["admissible_actions"] if a.startswith("click[b0")]
    for hit in hits:  # the first hit with options
        options = env.step(hit)[4]["admissible_actions"][2:-4]
        env.step("click[< prev]")
        if options:
            break
    env.step("click[back to search]")
    walk = ["search[<query>]", "click[next >]", "click[< prev]", hit, *options[:1], "click[description]",
            "click[< prev]", "click[< prev]", "click[back to search]"]
    return itertools.cycle(walk)


def _stepper(env):
    actions = tour(env)

    def step():
        info = env.step(next(actions))[4]
        assert not info["feedback"].startswith("Invalid"), info["feedback"]
        return info

    return step


@pytest.mark.parametrize("size", list(SIZES))
def test_text_step(benchmark, catalogs, size):
    env = gym.make("serl/WebShop-v0", catalog=catalog(catalogs, size), max_episode_steps=10**9)
    benchmark.group = f"webshop env step ({size} products)"
    try:
        benchmark(_stepper(env))
    finally:
        env.close()


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromedriver") and not os.environ.get("CI"), reason="no chromedriver")
def test_browser_step(benchmark):
    env = gym.make("serl/WebShop-v0", mode="browser", num_products=SIZES["1k"], max_episode_steps=10**9)
    benchmark.group = "webshop env step (1k products)"
    try:
        benchmark.pedantic(_stepper(env), rounds=27, warmup_rounds=1)
    finally:
        env.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_search(benchmark, catalogs, size):
    products = catalog(catalogs, size)
    index = search_index(products)  # the process's cached index, as the site uses it
    queries = itertools.cycle([g.instruction_text for g in products.goals[:100]]
                              + [g.name for g in products.goals[:100]])
    benchmark.group = "webshop search (top 50)"
    benchmark.extra_info["index_build_s"] = round(index.build_seconds, 3)
    hits = benchmark(lambda: index.search(next(queries)))
    assert 0 < len(hits) <= 50


@pytest.mark.parametrize("size", list(SIZES))
def test_index_build(benchmark, catalogs, size):
    products = catalog(catalogs, size)
    benchmark.group = "webshop search index build"
    index = benchmark.pedantic(build_index, args=(products,), rounds=1 if size == "100k" else 3)
    assert len(index.asins) == SIZES[size]
