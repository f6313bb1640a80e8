"""Reading the original WebShop's data files into a `Catalog` (``web_agent_site/engine/engine.py`` semantics).

The files, as the original's ``setup.sh`` downloads them into ``data/``:

* ``items_shuffle_1000.json`` / ``items_shuffle.json``: a list of scraped products (``asin``, ``category``,
  ``query``, ``name``, ``full_description``, ``small_description``, ``pricing``, ``customization_options``,
  ``product_category``, ``images``, ...);
* ``items_ins_v2_1000.json`` / ``items_ins_v2.json``: ``asin -> {attributes, instruction,
  instruction_attributes, ...}``, the product attributes and the synthetic instructions;
* ``items_human_ins.json``: ``asin -> [{instruction, instruction_attributes, instruction_options, ...}]``, the
  human-written instructions (12,087 usable goals over the full product file).

What ``load_products`` and ``get_human_goals`` / ``get_synthetic_goals`` do, and so what this module does:

* ``num_products`` keeps the first that many *records*, before anything is skipped;
* a record whose asin is ``"nan"`` or longer than 10 characters is skipped, and so is a repeated asin;
* ``query`` is lowercased and trimmed; a ``small_description`` that is a string becomes one bullet point;
* ``pricing`` is the string's dollar amounts (``"$12.99"``, ``"$10.00 - $20.00"``: split at ``$``, everything
  but digits and dots dropped), the first two kept; empty or missing pricing is ``$100.0``. The charged price is
  the single price, or one drawn uniformly inside the range;
* option groups are lowercased, values trimmed, lowercased, ``/`` written `` | ``; an empty group is skipped;
* a product missing from the attributes file gets the attribute ``DUMMY_ATTR``;
* human goals: one per instruction, skipping instructions without ``instruction_attributes``; the text is the
  instruction without leading/trailing dots plus the price bound of `_goals.price_bound`; weight 1;
* synthetic goals (``human_goals=False``): one per combination of the product's option values, weighted by
  the mean over its attributes of 1 / (how many goals share that attribute).

Deliberate differences, none of which changes a reward on well-formed data:

* the original draws range prices and price bounds from the process-wide ``random`` (different on each run); here
  each asin has its own seeded draw, so they are the same on every run, and the price is rounded to cents;
* input the original crashes on is read leniently: ``pricing`` given as a list of strings, unparsable amounts
  (left out; none left is ``$100.0``), a ``None`` description (empty), a record that is not an object or has
  no asin (skipped), a synthetic product without instruction attributes (no goals), ``instruction_options``
  given as a mapping (its values);
* a synthetic goal's options are the chosen values; the original's reward fuzzy-matches ``(group, value)``
  pairs for them, which agrees with matching values except for near misses;
* reviews: the original blanks them (its reviews file is unused); here a record's ``Reviews`` / ``reviews`` list
  and ``average_rating`` are kept when present.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from serl_bench.errors import ConfigError, DataNotFoundError

from ._build import build_catalog, collector_paused
from ._data import Catalog, Product, Review
from ._goals import Draw, price_bound

PRODUCT_FILES = ("items_shuffle.json", "items_shuffle_1000.json")  #: looked for in this order in a folder
ATTRIBUTE_FILES = {"items_shuffle.json": ("items_ins_v2.json", "items_ins_v2_1000.json"),
                   "items_shuffle_1000.json": ("items_ins_v2_1000.json", "items_ins_v2.json")}
HUMAN_FILE = "items_human_ins.json"
DEFAULT_PRICE = 100.0
DUMMY_ATTRIBUTE = "DUMMY_ATTR"

_NOT_PRICE = re.compile(r"[^\d.]")
_HOW_TO_GET = "download them with the original WebShop's setup.sh (-d small or -d all)"


def load_original(data_path: str | Path, n_products: int | None = None, *, human_goals: bool = True) -> Catalog:
    """The catalog in the original files under ``data_path`` (their folder, or the products file itself)."""
    with collector_paused():
        return _load(data_path, n_products, human_goals)


def _load(data_path: str | Path, n_products: int | None, human_goals: bool) -> Catalog:
    products_file, attributes_file, human_file = resolve_files(data_path, human_goals)
    records = read_json(products_file)
    if not isinstance(records, list):
        raise ConfigError(f"{products_file} holds {type(records).__name__}, not the list of products the original "
                          f"writes; {_HOW_TO_GET}")
    if n_products is not None:
        if not isinstance(n_products, int) or n_products < 1:
            raise ConfigError(f"n_products must be a positive integer or None (all), got {n_products!r}")
        records = records[:n_products]
    attributes = _mapping(read_json(attributes_file), attributes_file)
    products: list[Product] = []
    seen: set[str] = set()
    for record in records:
        if not isinstance(record, dict):
            continue
        asin = record.get("asin")
        if not isinstance(asin, str) or asin == "nan" or len(asin) > 10 or asin in seen:
            continue
        seen.add(asin)
        products.append(parse_product(record, attributes.get(asin)))
    if human_goals:
        goals = human_goal_fields(products, _mapping(read_json(human_file), human_file))
    else:
        goals = synthetic_goal_fields(products, attributes)
    return build_catalog(products, goals, "original")


def resolve_files(data_path: str | Path, human_goals: bool = True) -> tuple[Path, Path, Path | None]:
    """(products file, attributes file, human instructions file or None) for a folder or a products file."""
    path = Path(data_path).expanduser()
    if path.is_dir():
        folder = path
        products_file = next((folder / name for name in PRODUCT_FILES if (folder / name).is_file()), None)
        if products_file is None:
            raise DataNotFoundError(f"no WebShop products file ({' or '.join(PRODUCT_FILES)}) in {folder}; "
                                    f"{_HOW_TO_GET}, or leave data_path unset for the generated catalog")
    elif path.is_file():
        folder, products_file = path.parent, path
    else:
        raise DataNotFoundError(f"WebShop data_path {path} does not exist; give the folder holding the original "
                                f"files ({_HOW_TO_GET}), or leave it unset for the generated catalog")
    candidates = ATTRIBUTE_FILES.get(products_file.name, ATTRIBUTE_FILES["items_shuffle.json"])
    attributes_file = next((folder / name for name in candidates if (folder / name).is_file()), None)
    if attributes_file is None:
        raise DataNotFoundError(f"no WebShop attributes file ({' or '.join(candidates)}) in {folder}, needed beside "
                                f"{products_file.name}; {_HOW_TO_GET}")
    human_file = folder / HUMAN_FILE
    if human_goals and not human_file.is_file():
        raise DataNotFoundError(f"no {HUMAN_FILE} in {folder}, which holds the human goals; {_HOW_TO_GET}")
    return products_file, attributes_file, human_file if human_goals else None


def read_json(path: Path) -> Any:
    """The JSON in ``path``; a file that cannot be read or parsed is a one-line ConfigError naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON ({error.msg}, line {error.lineno} column {error.colno}); "
                          f"it may be truncated: {_HOW_TO_GET} again") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); {_HOW_TO_GET} "
                          f"again") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None


def _mapping(data: Any, path: Path) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"{path} holds {type(data).__name__}, not the asin -> entry object the original writes; "
                          f"{_HOW_TO_GET}")
    return data


# --- products -------------------------------------------------------------------------------------------------


def parse_pricing(pricing: Any) -> tuple[float, ...]:
    """The original's ``pricing``: one price or a (low, high) range; missing or empty is (100.0,)."""
    if isinstance(pricing, list | tuple):  # not in the original's files, but seen in re-exports
        pricing = "".join(f"${p}" if isinstance(p, int | float) else str(p) for p in pricing)
    if not pricing or not isinstance(pricing, str):
        return (DEFAULT_PRICE,)
    amounts = []
    for piece in pricing.split("$")[1:]:
        try:
            amounts.append(float(Decimal(_NOT_PRICE.sub("", piece))))
        except InvalidOperation:
            continue
    return tuple(amounts[:2]) if amounts else (DEFAULT_PRICE,)


def draw_price(asin: str, pricing: tuple[float, ...]) -> float:
    """The price charged: the single price, or a draw inside the range that is the same for the asin every run."""
    if len(pricing) == 1:
        return pricing[0]
    return round(random.Random(f"webshop price {asin}").uniform(*pricing[:2]), 2)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = re.match(r"\s*(\d+(?:\.\d+)?)", value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def _reviews(raw: Any) -> tuple[Review, ...]:
    reviews = []
    for r in raw if isinstance(raw, list) else ():
        if not isinstance(r, dict):
            continue
        score = _number(r.get("score", r.get("stars")))
        if score is None:
            continue
        reviews.append(Review(int(round(score)), _text(r.get("title")), _text(r.get("body", r.get("review")))))
    return tuple(reviews)


def parse_product(record: dict, attribute_entry: Any) -> Product:
    """One products-file record (and its attributes-file entry, if any) as the original's site sees it."""
    asin = record["asin"]
    raw_bullets = record.get("small_description")
    if isinstance(raw_bullets, list):
        bullets = tuple(_text(b) for b in raw_bullets)
    else:
        bullets = () if raw_bullets is None else (_text(raw_bullets),)
    options: dict[str, tuple[str, ...]] = {}
    images: dict[str, str] = {}
    customization = record.get("customization_options")
    if isinstance(customization, dict):
        for group, contents in customization.items():
            if not contents:
                continue
            values = []
            for content in contents:
                if not isinstance(content, dict) or not isinstance(content.get("value"), str):
                    continue
                value = content["value"].strip().replace("/", " | ").lower()
                values.append(value)
                if isinstance(content.get("image"), str):
                    images[value] = content["image"]
            if values:
                options[str(group).lower()] = tuple(values)
    if isinstance(attribute_entry, dict) and "attributes" in attribute_entry:
        attributes = tuple(_text(a) for a in attribute_entry["attributes"] or ())
    else:
        attributes = (DUMMY_ATTRIBUTE,)
    pricing = parse_pricing(record.get("pricing"))
    return Product(
        asin=asin, category=_text(record.get("category")), query=_text(record.get("query")).lower().strip(),
        product_category=_text(record.get("product_category")), title=_text(record.get("name")),
        description=_text(record.get("full_description")), bullet_points=bullets, pricing=pricing,
        price=draw_price(asin, pricing), options=options, attributes=attributes,
        rating=_number(record.get("average_rating")), reviews=_reviews(record.get("Reviews", record.get("reviews"))),
        images=images)


# --- goals ----------------------------------------------------------------------------------------------------


def _options(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, dict):
        raw = list(raw.values())
    if isinstance(raw, str):
        raw = [raw]
    return tuple(_text(o) for o in raw or ())


def _goal_fields(product: Product, text: str, attributes: tuple[str, ...], price_upper: float,
                 goal_options: tuple[str, ...], weight: float) -> tuple:
    return (product.asin, product.category, product.query, product.title, product.product_category, text,
            attributes, price_upper, goal_options, weight)


def human_goal_fields(products: list[Product], human: dict) -> list[tuple]:
    """``get_human_goals``: one goal per human instruction with attributes, in product then instruction order."""
    goals = []
    for product in products:
        instructions = human.get(product.asin)
        for k, instruction in enumerate(instructions if isinstance(instructions, list) else ()):
            if not isinstance(instruction, dict):
                continue
            attributes = tuple(_text(a) for a in instruction.get("instruction_attributes") or ())
            if not attributes:
                continue
            draw = Draw(random.Random(f"webshop goal {product.asin} {k}"))
            price_upper, price_text = price_bound(product.price, draw)
            text = _text(instruction.get("instruction")).strip(".") + price_text
            goals.append(_goal_fields(product, text, attributes, price_upper,
                                      _options(instruction.get("instruction_options")), 1.0))
    return goals


def synthetic_goal_fields(products: list[Product], attributes_map: dict) -> list[tuple]:
    """``get_synthetic_goals``: one goal per option combination of each product with a synthetic instruction."""
    drafts = []
    count: dict[str, int] = defaultdict(int)
    for product in products:
        entry = attributes_map.get(product.asin)
        if not isinstance(entry, dict) or entry.get("instruction") is None:
            continue
        attributes = tuple(_text(a) for a in entry.get("instruction_attributes") or ())
        if not attributes:
            continue
        price_upper, price_text = price_bound(product.price, Draw(random.Random(f"webshop goal {product.asin}")))
        names = sorted(product.options)
        for combination in itertools.product(*(product.options[name] for name in names)):
            option_text = ", and ".join(f"{name}: {value}" for name, value in zip(names, combination, strict=True))
            option_text = f" with {option_text}" if option_text else ""
            text = f"{_text(entry['instruction'])}{option_text}{price_text}"
            drafts.append((product, text, attributes, price_upper, tuple(combination)))
            for attribute in attributes:
                count[attribute] += 1
    return [_goal_fields(product, text, attributes, price_upper, options,
                         sum(1.0 / count[a] for a in attributes) / len(attributes))
            for product, text, attributes, price_upper, options in drafts]
