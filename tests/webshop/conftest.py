"""WebShop fixtures: a small hand-built catalog for the site, and envs over the generated catalog."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from serl_bench.envs.webshop._data import Catalog, Goal, Product, Review

SMALL_PRODUCTS = 300  #: generated catalog size for env tests: every split has goals, and it builds in a blink

COLORS = ("black", "white", "red", "navy blue")
SIZES = ("small", "medium", "large", "x-large")


def _shoe(i: int) -> Product:
    return Product(
        asin=f"B0SHOE{i:04d}",
        category="fashion",
        query="running shoes",
        product_category="Clothing, Shoes & Jewelry › Men › Shoes › Athletic › Running",
        title=f"Trail Running Shoe Model {i} Breathable Mesh",
        description=f"A light trail running shoe, model {i}, with a breathable mesh upper.",
        bullet_points=(f"model {i} rubber sole", "breathable mesh", "lace-up closure"),
        pricing=(20.0 + i, 40.0 + i) if i % 2 else (25.0 + i,),
        price=30.0 + i,
        options={"color": COLORS, "size": SIZES} if i % 3 else {"size": SIZES},
        attributes=("rubber sole", "breathable") if i % 2 else ("rubber sole",),
        rating=4.5 if i % 2 else None,
        reviews=(Review(5, "great shoe", f"comfortable model {i}"), Review(2, "too small", "runs small")),
    )


def _other(i: int, category: str, query: str, title: str) -> Product:
    return Product(
        asin=f"B0{category[:4].upper():<4}{i:04d}".replace(" ", "X"), category=category, query=query,
        product_category=f"{category.title()} › {query.title()}", title=title,
        description=f"{title}. Description of item {i}.", bullet_points=(f"{query} feature {i}",),
        pricing=(10.0 + i,), price=10.0 + i, options={}, attributes=("long lasting",),
    )


def small_catalog() -> Catalog:
    """25 running shoes (three pages of results for "shoe"), a few other products, and three goals."""
    products = [_shoe(i) for i in range(25)]
    products += [
        _other(1, "beauty", "eau de toilette", "Long Lasting Eau de Toilette Spray 3.4 fl oz"),
        _other(2, "food", "green tea", "Organic Green Tea Bags, 100 Count"),
        _other(3, "furniture", "office chair", "Ergonomic Office Chair with Lumbar Support"),
        _other(4, "electronics", "usb cable", "USB C Cable 6 ft Fast Charging <b>Braided</b>"),
    ]
    goals = (
        Goal(index=0, asin="B0SHOE0007", category="fashion", query="running shoes",
             name=products[7].title, product_category=products[7].product_category,
             instruction_text="i want breathable trail running shoes with a rubber sole in navy blue, size large, "
                              "and price lower than 60.00 dollars",
             attributes=("breathable", "rubber sole"), price_upper=60.0, goal_options=("navy blue", "large")),
        Goal(index=1, asin=products[25].asin, category="beauty", query="eau de toilette", name=products[25].title,
             product_category=products[25].product_category,
             instruction_text="i need a long lasting eau de toilette spray, and price lower than 50.00 dollars",
             attributes=("long lasting",), price_upper=50.0, goal_options=()),
        Goal(index=2, asin=products[27].asin, category="furniture", query="office chair", name=products[27].title,
             product_category=products[27].product_category,
             instruction_text="find me an ergonomic office chair with lumbar support",
             attributes=("lumbar support",), price_upper=1000000.0, goal_options=()),
    )
    fingerprint = hashlib.sha256(repr((products, goals)).encode()).hexdigest()[:16]
    return Catalog(products=tuple(products), goals=goals, source="generated", fingerprint=f"test-{fingerprint}")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return small_catalog()


@pytest.fixture(scope="module")
def site(catalog):
    """The hand-built catalog's site, served on a free port for this module."""
    from serl_bench.envs.webshop import _server

    server = _server.acquire(catalog)
    yield server
    _server.release(server)


@pytest.fixture(scope="session")
def generated_catalog():
    from serl_bench.envs.webshop._catalog import load_catalog

    return load_catalog(SMALL_PRODUCTS)


@pytest.fixture(scope="session")
def make_webshop(generated_catalog):
    """``make(**kwargs)``: a ``serl/WebShop-v0`` env over the small generated catalog."""
    import gymnasium as gym

    def make(**kwargs):
        return gym.make("serl/WebShop-v0", **{"catalog": generated_catalog, **kwargs})

    return make


@pytest.fixture
def own_server(generated_catalog, request):
    """The small generated catalog under a fingerprint of this test's own, so its envs get a server no
    other test shares (for tests that count references or stop the server)."""
    return dataclasses.replace(generated_catalog, fingerprint=f"{generated_catalog.fingerprint}-{request.node.name}")


@pytest.fixture(scope="module")
def text_env(make_webshop):
    """A text-mode env over the small generated catalog, shared by the tests of a module."""
    env = make_webshop()
    yield env
    env.close()
