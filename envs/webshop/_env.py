"""``serl/WebShop-v0``: shopping on the WebShop site, as a Gymnasium environment, in text or browser mode."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import gymnasium as gym

from serl_bench.errors import ConfigError, UnknownNameError

from .._base import TextEnv, TextSpace
from .._split import Split
from . import _expert, _server
from ._actions import PLACEHOLDER, Action, ParseError, admissible, parse_action, quote
from ._browser import Browser, ChromeBrowser, HttpBrowser
from ._catalog import load_catalog
from ._data import Catalog, Goal
from ._reward import compute_reward
from ._search import search_index
from ._server import SiteError
from ._splits import SPLIT_SOURCES, SPLITS, split_goals
from ._text import SEP, Page, read_page

MODES = ("text", "browser")
MAX_TEXT = 1_000_000
REQUEST_TIMEOUT = 30.0
UNLIMITED_PLAN = 100  #: the expert's horizon where no time limit is set (``WebShopEnv`` made directly)


@dataclass(frozen=True)
class Task:
    """One goal of a split, as the harness plays it."""

    task_id: str  #: ``goal-<index>``, the goal's place in the catalog's goal order
    task_type: str  #: the goal's product category
    goal: Goal
    catalog_fingerprint: str  #: the catalog the goal is shopped in

    def content_hash(self) -> str:
        """The goal within its catalog: equal only for the same goal in the same catalog."""
        return hashlib.sha256(f"{self.catalog_fingerprint}:{self.goal.index}".encode()).hexdigest()


class WebShopEnv(TextEnv):
    """WebShop (Yao et al., 2022): find and buy the product an instruction asks for on a real web site.

    The site (a Flask app on 127.0.0.1, shared by the envs of a process that use the same catalog) starts on
    the first ``reset``. Actions are the original's: ``search[keywords]`` where the page has a search box,
    ``click[name]`` on a button, product link or option value (case-insensitive; ``click[next >]``,
    ``click[< prev]``, ``click[back to search]``, ``click[buy now]``, ``click[description]``...). The
    observation is the original's "simple" text: the page's visible strings joined by ``[SEP]``, the
    instruction included. ``click[buy now]`` ends the episode with the purchase's reward in [0, 1].

    Every ``info`` carries the contract keys (`serl_bench.envs.INFO_KEYS`) plus ``task_id`` and ``split``:
    ``admissible_actions`` is ``search[<query>]`` where there is a search box (put keywords in place of
    ``<query>``) and ``click[...]`` for each clickable; ``anchor`` is the page without the instruction, plus
    the chosen options; ``won`` is a reward of 1; ``score`` the reward (0 until bought); ``task_type`` the
    goal's product category. Invalid actions cost a step and say why in ``feedback``. Episodes are cut off
    by Gymnasium's time limit: ``max_episode_steps`` (15 unless given to ``make``).

    Example::

        env = gymnasium.make("serl/WebShop-v0", split="test")
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step("search[red shoes]")
        env.close()

    Args:
        split: ``test``, ``eval`` or ``train`` goals of the catalog.
        mode: ``text`` reads pages over HTTP; ``browser`` drives headless Chromium (needs ``chromium`` and
            ``chromedriver``). The same actions give the same observations in both.
        num_products: catalog size (generated, or the first ``num_products`` of the original data).
        data_path: folder with the original WebShop JSON files; default: the generated catalog.
        port: serve the site on this port (default: a free one).
        show_attributes: show the item pages' Attributes tab (hidden in the original: it shows what the
            reward checks).
        timeout: seconds to wait for a page.
        catalog: a ready `Catalog` to shop in (then ``num_products`` and ``data_path`` are ignored).
        chromium, chromedriver: browser mode's programs (default: found on ``PATH``).
        progress: accepted for the harness, which passes it to every env; a catalog loads in well under a
            second and needs no progress bar.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, split: str = "test", *, mode: Literal["text", "browser"] = "text", num_products: int = 1000,
                 data_path: str | None = None, port: int | None = None,
                 show_attributes: bool = False, timeout: float = REQUEST_TIMEOUT, catalog: Catalog | None = None,
                 chromium: str | None = None, chromedriver: str | None = None, render_mode: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UnknownNameError("render_mode", render_mode, self.metadata["render_modes"])
        if mode not in MODES:
            raise UnknownNameError("WebShop mode", mode, MODES)
        if split not in SPLITS:
            raise UnknownNameError("WebShop split", split, SPLITS)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.render_mode, self.mode = render_mode, mode
        self.port, self.show_attributes, self.timeout = port, bool(show_attributes), float(timeout)
        self._chrome = {"chromium": chromium, "chromedriver": chromedriver}
        self.catalog = catalog if catalog is not None else load_catalog(num_products, data_path=data_path)
        tasks = tuple(Task(f"goal-{g.index}", g.category, g, self.catalog.fingerprint)
                      for g in split_goals(self.catalog, split))
        if not tasks:
            raise ConfigError(f"WebShop split {split} of this catalog has no goals; use more products")
        source = "original-data" if self.catalog.source == "original" else SPLIT_SOURCES[split]
        self.split: Split[Task] = Split(split, source, tasks)
        self.observation_space = TextSpace(MAX_TEXT)
        self.action_space = TextSpace(MAX_TEXT)
        self._server: _server.SiteServer | None = None
        self._http: HttpBrowser | None = None
        self._browser: Browser | None = None
        self._session = secrets.token_hex(8)
        self._task: Task | None = None
        self._page: Page | None = None
        self._plan: _expert.Plan | None = None
        self._steps, self._score, self._done = 0, 0.0, False

    # ------------------------------------------------------------------------------------------ gym API

    @property
    def site_url(self) -> str | None:
        """The site's address while it serves this env (after the first reset), else None."""
        return self._server.url if self._server else None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self._task = self.draw_task(options)
        self._start()
        attrs = "&attrs=1" if self.show_attributes else ""
        self._page = self._visit(self._browser.open(f"/{self._session}?goal={self._task.goal.index}{attrs}"))
        self._plan = None
        self._steps, self._score, self._done = 0, 0.0, False
        return self._page.text, self._info(None)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self._task is None or self._page is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        self._steps += 1
        reward = 0.0
        if self._done:
            feedback = "The episode is over: you bought already; call reset() to shop again."
        else:
            try:
                feedback, reward = self._act(parse_action(action))
            except ParseError as exc:
                feedback = str(exc)
        return self._page.text, reward, self._done, False, self._info(feedback)

    def expert_action(self) -> str | None:
        """The oracle expert's next action here (it knows the goal, catalog and reward); None once bought."""
        if self._task is None or self._page is None:
            raise gym.error.ResetNeeded("call reset() before expert_action()")
        if self._plan is None:
            self._plan = _expert.plan(self.catalog, search_index(self.catalog), self._task.goal, compute_reward,
                                      max(1, self._horizon() - self._steps))
        return _expert.next_action(self._plan, self._page)

    def _horizon(self) -> int:
        """Steps an episode may take: Gymnasium's ``max_episode_steps`` (the expert plans within it)."""
        limit = self.spec.max_episode_steps if self.spec is not None else None
        return limit or UNLIMITED_PLAN

    def render(self) -> str | None:
        text = self._page.text if self._page else ""
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        """End the session, close the browser, and give the server back (the last env stops it)."""
        server, browser, http = self._server, self._browser, self._http
        self._server = self._browser = self._http = None
        self._page = self._task = None
        try:
            if browser is not None and browser is not http:
                browser.close()
            if http is not None:
                try:
                    http.request("delete", f"/api/session/{self._session}")
                except SiteError:
                    pass
                http.close()
        finally:
            if server is not None:
                _server.release(server)
        super().close()

    # ---------------------------------------------------------------------------------------- internals

    def _start(self) -> None:
        """Start (or join) the site and open the browser, on first use."""
        if self._server is not None:
            return
        server = _server.acquire(self.catalog, port=self.port)
        try:
            http = HttpBrowser(server.url, self.timeout)
            self._browser = ChromeBrowser(server.url, self.timeout, **self._chrome) if self.mode == "browser" else http
        except BaseException:
            _server.release(server)
            raise
        self._server, self._http = server, http

    def _visit(self, fetched: tuple[str, str]) -> Page:
        page = read_page(*fetched)
        if page.kind == "error":
            said = " ".join(page.text.replace(SEP, " ").split())[:200]
            raise SiteError(f"the WebShop site answered {fetched[1][:120]} with an error: {said}")
        return page

    def _act(self, action: Action) -> tuple[str, float]:
        """Do ``action`` on the current page: (feedback, reward)."""
        page = self._page
        if action.verb == "search":
            if not page.has_search_bar:
                return "Invalid action: no search box on this page; click[back to search] first.", 0.0
            keywords = self._task.goal.instruction_text if action.arg == PLACEHOLDER else action.arg
            self._page = self._visit(self._browser.search(page, keywords))
            total = int(self._page.state.get("total", 0))
            return f"Searched for {quote(keywords)}: {total or 'no'} result{'s' * (total != 1)}.", 0.0
        if action.arg == "search" and page.has_search_bar:
            return "Invalid action: to search, write search[keywords].", 0.0
        clickable = page.clickables.get(action.arg)
        if clickable is None:
            return f"Invalid action: no button {quote(action.arg)} on this page.", 0.0
        self._page = self._visit(self._browser.click(page, clickable))
        if self._page.kind == "done":
            return self._bought()
        if clickable.kind == "option":
            return f"You have clicked {clickable.name} ({clickable.group}).", 0.0
        return f"You have clicked {clickable.name}.", 0.0

    def _bought(self) -> tuple[str, float]:
        page = self._page
        self._done, self._score = True, float(page.state["reward"])
        options = ", ".join(f"{k}: {v}" for k, v in page.options.items())
        return (f"You bought {page.state['asin']}" + (f" ({options})" if options else "")
                + f" for ${float(page.state['price']):.2f}; reward {self._score:.3f}."), self._score

    def _info(self, feedback: str | None) -> dict:
        page, task = self._page, self._task
        return {
            "task": task.goal.instruction_text,
            "admissible_actions": admissible(page.has_search_bar, list(page.clickables)),
            "feedback": feedback,
            "anchor": page.anchor,
            "won": self._done and self._score >= 1.0,
            "score": self._score,
            "task_type": task.task_type,
            "task_id": task.task_id,
            "split": self.split.name,
        }
