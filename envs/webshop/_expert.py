"""The oracle expert: it knows the goal, the catalog, the search index and the reward.

`plan` tries a few queries built from the goal (the instruction, its search query, the target's title),
scores every hit with the reward and the options that suit the goal best, and keeps the best purchase it
can reach in an episode. `next_action` then walks there from whatever page the env is on: search, page
to the hit, open it, choose the options, buy. It re-reads the page each step, so an agent that strays
(the noisy expert) is brought back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._actions import clean_keywords
from ._data import Catalog, Goal, Product
from ._search import PRODUCT_WINDOW, SearchIndex
from ._site import RewardFn, normalize_keywords
from ._text import Page, name_key


@dataclass(frozen=True)
class Plan:
    """What the expert will buy and how to find it."""

    query: str  #: the keywords to search (as the site normalizes them)
    asin: str
    options: Mapping[str, str] = field(default_factory=dict)  #: option group -> value to choose
    page: int = 1  #: results page the product shows on
    reward: float = 0.0  #: the reward the purchase earns

    @property
    def steps(self) -> int:
        """Actions from the search page to the purchase."""
        return 1 + (self.page - 1) + 1 + len(self.options) + 1


def candidate_queries(goal: Goal) -> list[str]:
    """Queries the expert tries, in the site's normalized form, without duplicates: first what a shopper
    knows (the instruction), then the goal's search query with its attributes, the query, and last the
    oracle's own knowledge, the target's title. A later query wins only by a better reward or fewer steps,
    so demonstrations search the way an agent could wherever that works."""
    attributes = " ".join(goal.attributes)
    raw = [goal.instruction_text, f"{goal.query} {attributes}", goal.query, goal.name]
    queries = [normalize_keywords(clean_keywords(q.replace("[", " ").replace("]", " "))) for q in raw]
    return [q for i, q in enumerate(queries) if q and q not in queries[:i]]


def best_options(product: Product, goal: Goal, reward_fn: RewardFn) -> dict[str, str]:
    """Options for ``product`` that score best for ``goal``: each group's value matching a goal option,
    refined by one pass of coordinate ascent on the reward (a group may also stay unchosen)."""
    chosen = goal_options(product, goal)

    def score(options: Mapping[str, str]) -> float:
        return reward_fn(product, goal, product.price, options).total

    best = score(chosen)
    for name, values in product.options.items():
        for value in (None, *values):
            trial = {k: v for k, v in chosen.items() if k != name} | ({name: value} if value is not None else {})
            if trial != chosen and (s := score(trial)) > best:
                chosen, best = trial, s
    return chosen


def plan(catalog: Catalog, index: SearchIndex, goal: Goal, reward_fn: RewardFn, max_steps: int) -> Plan:
    """The best purchase reachable within ``max_steps`` actions (ties: fewer steps, then earlier query)."""
    best: Plan | None = None
    scored: dict[str, tuple[float, dict[str, str]]] = {}
    for query in candidate_queries(goal):
        for rank, asin in enumerate(index.search(query)):
            if asin not in scored:
                product = catalog.product(asin)
                options = goal_options(product, goal)
                scored[asin] = (reward_fn(product, goal, product.price, options).total, options)
            total, options = scored[asin]
            candidate = Plan(query, asin, options, rank // PRODUCT_WINDOW + 1, total)
            better = best is None or (total, -candidate.steps) > (best.reward, -best.steps)
            if candidate.steps <= max_steps and better:
                best = candidate
    if best is None:  # nothing found: search for the goal's product anyway and buy the first hit
        return Plan(candidate_queries(goal)[0], goal.asin)
    options = best_options(catalog.product(best.asin), goal, reward_fn)
    refined = reward_fn(catalog.product(best.asin), goal, catalog.product(best.asin).price, options).total
    return Plan(best.query, best.asin, options, best.page, refined) if refined >= best.reward else best


def goal_options(product: Product, goal: Goal) -> dict[str, str]:
    """Per option group of ``product``, its first value that is one of the goal's options."""
    wanted = {o.lower() for o in goal.goal_options}
    return {name: next(v for v in values if v.lower() in wanted)
            for name, values in product.options.items() if any(v.lower() in wanted for v in values)}


def next_action(plan: Plan, page: Page) -> str | None:
    """The expert's next action on ``page`` toward ``plan``; None once bought."""
    if page.kind == "done":
        return None
    if page.kind == "search":
        return f"search[{plan.query}]"
    if page.kind == "results":
        return _on_results(plan, page)
    if page.kind == "sub_page":
        return "click[< prev]"
    if page.kind == "item":
        if page.state.get("asin") != plan.asin:
            return "click[< prev]"
        chosen = page.options
        for name, value in plan.options.items():
            target = page.clickables.get(name_key(value))
            if chosen.get(name) != value and target is not None and target.group == name:
                return f"click[{target.name}]"
        return "click[buy now]"
    return "click[back to search]"


def _on_results(plan: Plan, page: Page) -> str:
    if page.state.get("keywords") != plan.query:
        return "click[back to search]"
    if plan.asin.lower() in page.clickables:
        return f"click[{plan.asin.lower()}]"
    number = int(page.state.get("page-number", "1"))
    if plan.page > number and "next >" in page.clickables:
        return "click[next >]"
    if plan.page < number and "< prev" in page.clickables:
        return "click[< prev]"
    return "click[back to search]"
