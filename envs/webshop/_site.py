"""The shop itself: a Flask app with the original WebShop's pages and flow.

    search page (instruction, search box) -> results (10 a page, ``Next >`` / ``< Prev``, ``Back to Search``)
    -> item page (option buttons, ``Description`` / ``Features`` / ``Reviews`` [/ ``Attributes``] tabs, each
    with ``< Prev``; ``Buy Now``) -> done page (the reward and its components)

As in the original, the page state lives in the URL (``/item_page/<session_id>/<asin>?keywords=...&page=2
&options={"size": "large"}``) and the server keeps per session only its goal and, once bought, the purchase.
The env opens a session with ``/<session_id>?goal=<goal index>`` (``&attrs=1`` shows the Attributes tab,
hidden by default as in the original because it shows what the reward checks); a session id visited without
``goal`` gets a goal drawn by weight, as the original does for human shoppers. ``/api/session/<session_id>``
answers the session's goal, purchase and reward as JSON. Every user text (search keywords above all) goes
through Jinja's autoescaping; nothing is rendered from a string a user wrote.

Differences from the original, on purpose: ``Next >`` shows only while there are more results (the original
shows it on the last page too, leading to an empty page); the search box submits with GET to the results
URL (the original POSTs and redirects); no stylesheet or script comes from a CDN (the site works offline).
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ._data import Catalog, Goal, Product
from ._reward import Reward, compute_reward
from ._search import PRODUCT_WINDOW, SearchIndex, search_index

TABS = ("Description", "Features", "Reviews", "Attributes")  #: an item's sub-pages, in the original's order
REWARD_COMPONENTS = (("r_type", "product type"), ("r_att", "attributes"), ("r_option", "options"),
                     ("r_price", "price"))  #: `compute_reward`'s components, as the done page labels them

_BETWEEN_TAGS = re.compile(r">\s+<")

RewardFn = Callable[[Product, Goal, float, Mapping[str, str]], Reward]  #: `compute_reward`'s signature


@dataclass(frozen=True)
class Purchase:
    """What a session bought and what it earned."""

    asin: str
    options: Mapping[str, str]
    price: float
    reward: Reward

    def to_json(self) -> dict[str, Any]:
        return {"asin": self.asin, "options": dict(self.options), "price": self.price,
                "reward": reward_json(self.reward)}


@dataclass
class Session:
    goal: Goal
    show_attributes: bool = False
    purchase: Purchase | None = None


@dataclass
class Shop:
    """The site's state: one catalog, its search index and the open sessions (thread-safe)."""

    catalog: Catalog
    index: SearchIndex
    reward_fn: RewardFn = compute_reward
    sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, session_id: str, goal: Goal, show_attributes: bool = False) -> Session:
        with self._lock:
            session = self.sessions[session_id] = Session(goal, show_attributes)
        return session

    def session(self, session_id: str) -> Session:
        with self._lock:
            session = self.sessions.get(session_id)
        if session is None:
            abort(404, f"no session {session_id!r}: open /{session_id} first")
        return session

    def end(self, session_id: str) -> bool:
        with self._lock:
            return self.sessions.pop(session_id, None) is not None

    def product(self, asin: str) -> Product:
        try:
            return self.catalog.product(asin)
        except KeyError:
            abort(404, f"no product {asin!r}")

    def buy(self, session: Session, product: Product, options: Mapping[str, str]) -> Purchase:
        reward = self.reward_fn(product, session.goal, product.price, options)
        session.purchase = Purchase(product.asin, dict(options), product.price, reward)
        return session.purchase


def reward_json(reward: Reward) -> dict[str, float | None]:
    """A reward as JSON: ``total`` and each component (None where the reward left it out)."""
    out = {"total": float(reward.total)}
    for name, _ in REWARD_COMPONENTS:
        value = getattr(reward, name, None)
        out[name] = None if value is None else float(value)
    return out


def price_tag(product: Product) -> str:
    """The price as the original shows it: ``$12.99``, or ``$10.00 to $20.00`` for a range."""
    if len(product.pricing) >= 2:
        return f"${product.pricing[0]:.2f} to ${product.pricing[1]:.2f}"
    return f"${product.price:.2f}"


def normalize_keywords(keywords: str) -> str:
    """What the site searches for: lowercase, whitespace runs as one space (the original lowercases and
    splits on spaces)."""
    return " ".join(keywords.lower().split())


def create_app(catalog: Catalog, index: SearchIndex | None = None, *, reward_fn: RewardFn = compute_reward) -> Flask:
    """The WebShop site over ``catalog`` (its index: ``index``, or the process's cached one), paying
    ``reward_fn`` at Buy Now."""
    shop = Shop(catalog, index or search_index(catalog), reward_fn)
    here = Path(__file__).parent
    app = Flask(__name__, template_folder=str(here / "templates"), static_folder=str(here / "static"))
    app.extensions["webshop"] = shop
    app.jinja_env.globals.update(price_tag=price_tag, page_size=PRODUCT_WINDOW)
    _routes(app, shop)
    return app


def _int_arg(name: str, default: int, low: int = 1) -> int:
    raw = request.args.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        abort(400, f"{name} must be a whole number, got {raw!r}")
    if value < low:
        abort(400, f"{name} must be at least {low}, got {value}")
    return value


def _options_arg(product: Product) -> dict[str, str]:
    """The ``options`` query argument: a JSON object of option group -> chosen value of this product."""
    raw = request.args.get("options", "{}")
    try:
        options = json.loads(raw)
    except json.JSONDecodeError:
        abort(400, f"options must be a JSON object, got {raw[:80]!r}")
    if not isinstance(options, dict):
        abort(400, f"options must be a JSON object, got {raw[:80]!r}")
    for name, value in options.items():
        if value not in product.options.get(name, ()):
            abort(400, f"product {product.asin} has no option {name!r}: {str(value)[:80]!r}")
    return options


def _page(template: str, kind: str, session_id: str, session: Session | None, state: dict[str, Any] | None = None,
          **context: Any) -> str:
    html = render_template(template, page_kind=kind, session_id=session_id, state=state or {},
                           instruction_text=session.goal.instruction_text if session else "", **context)
    return _BETWEEN_TAGS.sub("><", html)  # the templates' indentation: a third of every page's parse time


def _routes(app: Flask, shop: Shop) -> None:
    goals = shop.catalog.goals

    @app.errorhandler(HTTPException)
    def error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify(error=exc.description), exc.code
        return _page("error_page.html", "error", "", None, title=f"{exc.code} {exc.name}",
                     message=exc.description), exc.code

    @app.get("/")
    def home():
        return redirect(url_for("index", session_id=secrets.token_hex(8)))

    @app.route("/<session_id>", methods=["GET", "POST"])
    def index(session_id: str):
        if "goal" in request.args:
            goal_index = _int_arg("goal", 0, low=0)
            if goal_index >= len(goals):
                abort(404, f"no goal {goal_index}: the catalog has goals 0-{len(goals) - 1}")
            session = shop.start(session_id, goals[goal_index], request.args.get("attrs") == "1")
        elif session_id not in shop.sessions:
            goal = random.choices(goals, weights=[g.weight for g in goals])[0]
            session = shop.start(session_id, goal)
        else:
            session = shop.session(session_id)
        return _page("search_page.html", "search", session_id, session)

    @app.route("/search_results/<session_id>", methods=["GET", "POST"])
    def search_results(session_id: str):
        session = shop.session(session_id)
        keywords = normalize_keywords(request.args.get("keywords", ""))
        page = _int_arg("page", 1)
        hits = shop.index.search(keywords)
        products = [shop.catalog.product(a) for a in hits[(page - 1) * PRODUCT_WINDOW: page * PRODUCT_WINDOW]]
        state = {"keywords": keywords, "page-number": page, "total": len(hits)}
        return _page("results_page.html", "results", session_id, session, state, keywords=keywords, page=page,
                     total=len(hits), products=products)

    @app.route("/item_page/<session_id>/<asin>", methods=["GET", "POST"])
    def item_page(session_id: str, asin: str):
        session, product = shop.session(session_id), shop.product(asin)
        options = _options_arg(product)
        tabs = [t for t in TABS if t != "Attributes" or session.show_attributes]
        return _page("item_page.html", "item", session_id, session, _item_state(product, options), product=product,
                     **_item_context(product, options), tabs=tabs,
                     rating="N.A." if product.rating is None else f"{product.rating:.1f}",
                     with_option=lambda name, value: json.dumps({**options, name: value}))

    @app.route("/item_sub_page/<session_id>/<asin>/<sub_page>", methods=["GET", "POST"])
    def item_sub_page(session_id: str, asin: str, sub_page: str):
        session, product = shop.session(session_id), shop.product(asin)
        tab = next((t for t in TABS if t.lower() == sub_page.lower()), None)
        if tab is None or (tab == "Attributes" and not session.show_attributes):
            abort(404, f"no sub-page {sub_page!r}")
        options = _options_arg(product)
        state = {**_item_state(product, options), "sub-page": tab}
        return _page("sub_page.html", "sub_page", session_id, session, state, product=product, sub_page=tab,
                     **_item_context(product, options))

    @app.route("/done/<session_id>/<asin>", methods=["GET", "POST"])
    def done(session_id: str, asin: str):
        session, product = shop.session(session_id), shop.product(asin)
        options = _options_arg(product)
        purchase = shop.buy(session, product, options)
        components = [(label, getattr(purchase.reward, name)) for name, label in REWARD_COMPONENTS
                      if getattr(purchase.reward, name, None) is not None]
        state = {**_item_state(product, options), "price": repr(product.price),
                 "reward": repr(float(purchase.reward.total))}  # exact, for the env: the page shows 4 decimals
        return _page("done_page.html", "done", session_id, session, state, product=product, options=options,
                     reward=purchase.reward, components=components)

    @app.get("/api/session/<session_id>")
    def session_json(session_id: str):
        session = shop.session(session_id)
        purchase = session.purchase
        return jsonify(session_id=session_id, goal=session.goal.index, instruction=session.goal.instruction_text,
                       done=purchase is not None, purchase=purchase.to_json() if purchase else None)

    @app.delete("/api/session/<session_id>")
    def end_session(session_id: str):
        return jsonify(ended=shop.end(session_id))

    @app.get("/api/health")
    def health():
        return jsonify(ok=True, catalog=shop.catalog.fingerprint, products=len(shop.catalog.products))


def _item_state(product: Product, options: Mapping[str, str]) -> dict[str, str]:
    return {"asin": product.asin, "options": json.dumps(options)}


def _item_context(product: Product, options: Mapping[str, str]) -> dict[str, Any]:
    keywords = normalize_keywords(request.args.get("keywords", ""))
    return {"keywords": keywords, "page": _int_arg("page", 1), "options": options,
            "options_json": json.dumps(options)}
