"""Reading the original WebShop files: small files in the original's format, written by each test."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from serl_bench.envs.webshop._catalog import load_catalog
from serl_bench.envs.webshop._goals import NO_PRICE_BOUND
from serl_bench.envs.webshop._original import (
    DUMMY_ATTRIBUTE,
    draw_price,
    load_original,
    parse_pricing,
)
from serl_bench.envs.webshop._reward import compute_reward
from serl_bench.errors import ConfigError, DataNotFoundError


def _record(asin: str, **fields) -> dict:
    base = {
        "asin": asin, "category": "beauty", "query": "  Hair Extensions ", "name": f"Product {asin} Hair Extension",
        "full_description": "A long hair extension.", "pricing": "$12.99",
        "small_description": ["Natural looking", "Clip in"], "customization_options": None,
        "product_category": "Beauty & Personal Care › Hair Care › Hair Extensions", "average_rating": 4.5,
        "images": ["https://example.invalid/main.jpg"], "brand": "Acme", "total_reviews": 3,
    }
    return {**base, **fields}


PRODUCTS = [
    _record("B000000001", customization_options={
        "Color": [{"value": " Dark Brown/Black ", "image": "https://example.invalid/dark.jpg"},
                  {"value": "Blonde", "image": None}],
        "Size": [{"value": "18 Inch", "image": None}],
        "Style": None}),
    _record("B000000002", pricing="$10.00 - $20.00", small_description="One long bullet"),
    _record("B000000003", pricing=None, full_description=None),
    _record("nan"),
    _record("B0000000044"),  # 11 characters: skipped
    _record("B000000001", name="a repeat: skipped"),
    _record("B000000005", pricing="", customization_options={}),
    _record("B000000006", pricing="$990.00", small_description=None),
]

ATTRIBUTES = {
    "B000000001": {"attributes": ["natural looking", "heat resistant"], "instruction": "i want a hair extension",
                   "instruction_attributes": ["natural looking"]},
    "B000000002": {"attributes": ["long lasting"], "instruction": "i need a long lasting extension",
                   "instruction_attributes": ["long lasting"]},
    "B000000005": {"attributes": ["easy clean"], "instruction": None, "instruction_attributes": []},
}

HUMAN = {
    "B000000001": [
        {"instruction": "i need a natural looking hair extension in dark brown.", "instruction_attributes":
         ["natural looking"], "instruction_options": ["dark brown | black", "18 inch"], "worker_id": "w1"},
        {"instruction": "i want a hair extension", "instruction_attributes": [], "instruction_options": []},
        {"instruction": "...heat resistant hair extension..", "instruction_attributes": ["heat resistant"],
         "instruction_options": []},
    ],
    "B000000002": [{"instruction": "long lasting please", "instruction_attributes": ["long lasting"],
                    "instruction_options": {"size": "large"}}],
    "B000000006": [{"instruction": "an expensive one", "instruction_attributes": ["luxury"],
                    "instruction_options": []}],
    "B999999999": [{"instruction": "not in the products file", "instruction_attributes": ["x"]}],
}


def write_data(folder: Path, products=PRODUCTS, attributes=ATTRIBUTES, human=HUMAN, suffix="_1000") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"items_shuffle{suffix}.json").write_text(json.dumps(products))
    (folder / f"items_ins_v2{suffix}.json").write_text(json.dumps(attributes))
    if human is not None:
        (folder / "items_human_ins.json").write_text(json.dumps(human))
    return folder


@pytest.fixture
def data(tmp_path) -> Path:
    return write_data(tmp_path / "data")


def test_products_are_read_and_skipped_like_the_original(data):
    catalog = load_original(data)
    assert catalog.source == "original"
    assert [p.asin for p in catalog.products] == ["B000000001", "B000000002", "B000000003", "B000000005",
                                                  "B000000006"]
    first = catalog.product("B000000001")
    assert first.title == "Product B000000001 Hair Extension"  # the first record of a repeated asin wins
    assert first.query == "hair extensions"
    assert first.options == {"color": ("dark brown | black", "blonde"), "size": ("18 inch",)}
    assert first.images == {"dark brown | black": "https://example.invalid/dark.jpg"}
    assert first.attributes == ("natural looking", "heat resistant")
    assert first.bullet_points == ("Natural looking", "Clip in")
    assert (first.pricing, first.price, first.rating) == ((12.99,), 12.99, 4.5)


def test_prices_ranges_and_missing_prices(data):
    catalog = load_original(data)
    ranged = catalog.product("B000000002")
    assert ranged.pricing == (10.0, 20.0)
    assert 10.0 <= ranged.price <= 20.0 and ranged.price == round(ranged.price, 2)
    assert ranged.price == load_original(data).product("B000000002").price  # same draw every time
    for asin in ("B000000003", "B000000005"):  # None and "" pricing
        assert catalog.product(asin).pricing == (100.0,) and catalog.product(asin).price == 100.0


def test_missing_fields_and_products_without_options(data):
    catalog = load_original(data)
    assert catalog.product("B000000002").bullet_points == ("One long bullet",)  # a string: one bullet
    assert catalog.product("B000000003").description == ""
    assert catalog.product("B000000003").attributes == (DUMMY_ATTRIBUTE,)  # not in the attributes file
    assert catalog.product("B000000005").options == {}
    assert catalog.product("B000000006").bullet_points == ()


def test_human_goals(data):
    catalog = load_original(data)
    goals = {(g.asin, g.instruction_text.split(",")[0]): g for g in catalog.goals}
    assert len(catalog.goals) == 4  # the instruction without attributes and the unknown asin are skipped
    dark = goals[("B000000001", "i need a natural looking hair extension in dark brown")]
    assert dark.attributes == ("natural looking",)
    assert dark.goal_options == ("dark brown | black", "18 inch")
    assert dark.name == "Product B000000001 Hair Extension" and dark.weight == 1.0
    # 12.99 dollars: bounds from the first four of 20, 30, 40, 50; the larger of two drawn, so never 20
    assert dark.price_upper in (30.0, 40.0, 50.0)
    assert dark.instruction_text.endswith(f", and price lower than {dark.price_upper:.2f} dollars")
    heat = goals[("B000000001", "heat resistant hair extension")]  # dots stripped at both ends only
    assert heat.instruction_text.startswith("heat resistant hair extension, and price lower than")
    assert goals[("B000000002", "long lasting please")].goal_options == ("large",)
    expensive = goals[("B000000006", "an expensive one")]
    assert (expensive.price_upper, expensive.instruction_text) == (NO_PRICE_BOUND, "an expensive one")


def test_goal_order_is_the_originals_shuffle_of_product_then_instruction_order(data):
    natural_order = [("B000000001", 0), ("B000000001", 2), ("B000000002", 0), ("B000000006", 0)]
    random.Random(233).shuffle(natural_order)
    catalog = load_original(data)
    human_text = {(asin, k): HUMAN[asin][k]["instruction"].strip(".") for asin, k in natural_order}
    assert [(g.asin, g.instruction_text[:len(human_text[key])]) for g, key in zip(catalog.goals, natural_order,
                                                                                  strict=True)] == \
        [(asin, human_text[(asin, k)]) for asin, k in natural_order]
    assert [g.index for g in catalog.goals] == [0, 1, 2, 3]


def test_price_bounds_are_deterministic_and_spread(tmp_path):
    products = [_record(f"B{i:09d}", pricing="$12.99") for i in range(60)]
    human = {p["asin"]: [{"instruction": "x", "instruction_attributes": ["a"], "instruction_options": []}]
             for p in products}
    folder = write_data(tmp_path / "d", products=products, attributes={}, human=human)
    bounds = [g.price_upper for g in load_original(folder).goals]
    assert set(bounds) == {30.0, 40.0, 50.0}
    assert bounds == [g.price_upper for g in load_original(folder).goals]


def test_synthetic_goals_and_weights(data):
    catalog = load_original(data, human_goals=False)
    texts = sorted(g.instruction_text.split(", and price")[0] for g in catalog.goals)
    assert texts == ["i need a long lasting extension",
                     "i want a hair extension with color: blonde, and size: 18 inch",
                     "i want a hair extension with color: dark brown | black, and size: 18 inch"]
    by_asin = {}
    for g in catalog.goals:
        by_asin.setdefault(g.asin, []).append(g)
    assert {tuple(sorted(g.goal_options)) for g in by_asin["B000000001"]} == {
        ("18 inch", "dark brown | black"), ("18 inch", "blonde")}
    # "natural looking" is shared by 2 goals, "long lasting" by 1: weight = mean of 1 / count
    assert [g.weight for g in by_asin["B000000001"]] == [0.5, 0.5]
    assert by_asin["B000000002"][0].weight == 1.0
    bound = by_asin["B000000001"][0].price_upper
    assert all(g.price_upper == bound for g in by_asin["B000000001"])  # one draw per product, as the original


def test_n_products_counts_records_before_skipping(data):
    catalog = load_original(data, n_products=4)  # records 1-3 and "nan"
    assert [p.asin for p in catalog.products] == ["B000000001", "B000000002", "B000000003"]
    with pytest.raises(ConfigError, match="n_products"):
        load_original(data, n_products=0)


def test_data_path_may_be_the_products_file_and_full_files_are_preferred(tmp_path):
    folder = write_data(tmp_path / "d")
    write_data(folder, products=PRODUCTS[1:3], attributes={}, suffix="")
    assert [p.asin for p in load_original(folder).products] == ["B000000002", "B000000003"]
    small = load_original(folder / "items_shuffle_1000.json")
    assert len(small.products) == 5 and small.product("B000000001").attributes == ("natural looking",
                                                                                   "heat resistant")


def test_the_generator_and_the_original_loader_do_not_import_each_other():
    """They did: _original imported build_catalog from _catalog, whose load_catalog imported _original inside a
    function to dodge the cycle. What both need lives in _build; only load_catalog's _catalog uses _original."""
    import ast

    import serl_bench.envs.webshop._original as original

    package = Path(original.__file__).parent

    def imports(module: str) -> set[str]:
        tree = ast.parse((package / f"{module}.py").read_text(encoding="utf-8"))
        return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}

    assert "_catalog" not in imports("_original")
    assert not {"_catalog", "_original"} & imports("_build")


def test_load_catalog_reads_original_data_once(data):
    catalog = load_catalog(data_path=str(data))
    assert catalog.source == "original" and len(catalog.products) == 5
    assert load_catalog(data_path=str(data)) is catalog
    assert catalog.fingerprint == load_original(data, 1000).fingerprint
    assert catalog.fingerprint != load_original(data, 2).fingerprint


def test_bad_json_is_a_one_line_error_naming_the_file(data):
    (data / "items_ins_v2_1000.json").write_text('{"B000000001": {"attributes": [')
    with pytest.raises(ConfigError) as raised:
        load_original(data)
    message = str(raised.value)
    assert "items_ins_v2_1000.json is not valid JSON" in message and "setup.sh" in message
    assert "\n" not in message


def test_wrong_shapes_are_config_errors(data):
    (data / "items_shuffle_1000.json").write_text('{"asin": "B000000001"}')
    with pytest.raises(ConfigError, match="not the list of products"):
        load_original(data)
    write_data(data)
    (data / "items_human_ins.json").write_text("[]")
    with pytest.raises(ConfigError, match="items_human_ins.json holds list"):
        load_original(data)


def test_missing_files_are_data_not_found_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_original(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="no WebShop products file"):
        load_original(tmp_path / "empty")
    folder = write_data(tmp_path / "no-human", human=None)
    with pytest.raises(DataNotFoundError, match="items_human_ins.json"):
        load_original(folder)
    assert load_original(folder, human_goals=False).goals  # synthetic goals need no human file
    (folder / "items_ins_v2_1000.json").unlink()
    with pytest.raises(DataNotFoundError, match="attributes file"):
        load_original(folder, human_goals=False)


@pytest.mark.parametrize("raw, expected", [
    ("$12.99", (12.99,)),
    ("$10.00 - $20.00", (10.0, 20.0)),
    ("$1,299.99", (1299.99,)),
    ("$5.00 - $9.00 - $12.00", (5.0, 9.0)),
    (["$10.00", "$20.00"], (10.0, 20.0)),
    ([7.5], (7.5,)),
    ("", (100.0,)),
    (None, (100.0,)),
    ("12.99", (100.0,)),  # no dollar sign: nothing the original would read as a price
    ("$ - $15", (15.0,)),
])
def test_parse_pricing(raw, expected):
    assert parse_pricing(raw) == expected


def test_draw_price():
    assert draw_price("B1", (12.5,)) == 12.5
    prices = {draw_price(f"B{i}", (10.0, 20.0)) for i in range(50)}
    assert all(10.0 <= p <= 20.0 for p in prices) and len(prices) > 40
    assert draw_price("B7", (10.0, 20.0)) == draw_price("B7", (10.0, 20.0))


def test_reward_on_original_products(data):
    catalog = load_original(data)
    goal = next(g for g in catalog.goals if g.goal_options == ("dark brown | black", "18 inch"))
    product = catalog.product(goal.asin)
    full = compute_reward(product, goal, product.price, {"color": "dark brown | black", "size": "18 inch"})
    assert full.total == 1.0
    partial = compute_reward(product, goal, product.price, {"color": "blonde", "size": "18 inch"})
    assert partial.total == 3 / 4 and partial.num_option_matches == 1
