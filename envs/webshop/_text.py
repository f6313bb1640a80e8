"""A page's HTML as the agent reads it: the original's "simple" text observation and its clickables.

The original's text env (``web_agent_site/envs/web_agent_text_env.py``) joins the page's visible strings
with ``[SEP]`` (``convert_html_to_text(simple=True)``) and collects as clickables every ``.btn`` and
``.product-link`` by its lowercased text and every radio button by its value (``get_available_actions``).
`read_page` does the same (leaving out strings that are only whitespace), for pages fetched over HTTP and
pages a browser rendered alike, and adds what the env needs besides: the anchor (the page text without the
instruction), the page kind and facts (``data-*`` attributes of ``<body>``), and where each clickable leads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from bs4 import BeautifulSoup
from bs4.element import Comment, NavigableString, Tag

SEP = " [SEP] "
CLICKABLE_SELECTOR = ".btn, .product-link, input[type=radio]"  #: what the original collects, in document order
_HIDDEN = frozenset({"style", "script", "head", "title", "meta", "[document]"})

PageKind = Literal["search", "results", "item", "sub_page", "done", "error"]


@dataclass(frozen=True)
class Clickable:
    """Something ``click[name]`` can press."""

    name: str  #: lowercased label (buttons, links) or value (options): what ``click[...]`` names
    kind: Literal["button", "link", "option"]
    method: Literal["get", "post"]
    url: str  #: where pressing it leads (a path on the site)
    position: int  #: index among the page's `CLICKABLE_SELECTOR` elements (the browser presses that one)
    group: str | None = None  #: the option group of an option


@dataclass(frozen=True)
class Page:
    """One page of the site, read."""

    url: str
    kind: PageKind
    text: str  #: the observation: visible strings joined by ``[SEP]``, instruction included
    anchor: str  #: the same without the instruction (and with the chosen options, which the text omits)
    instruction: str | None
    clickables: Mapping[str, Clickable]  #: by name; as in the original, a later element wins a shared name
    search_url: str | None  #: the search form's action where the page has a search box
    state: Mapping[str, str] = field(default_factory=dict)  #: the page's ``data-*`` facts (asin, options, ...)

    @property
    def has_search_bar(self) -> bool:
        return self.search_url is not None

    @property
    def options(self) -> dict[str, str]:
        """Chosen options of an item, sub- or done page."""
        return json.loads(self.state.get("options", "{}"))


def name_key(label: str) -> str:
    """How ``click[...]`` names a clickable: lowercase, whitespace runs as one space."""
    return " ".join(label.split()).lower()


def read_page(html: str, url: str) -> Page:
    """Read a page of the site (``url`` is only recorded)."""
    soup = BeautifulSoup(html, "html.parser")
    body, strings, elements, search_form, in_box = soup, [], [], None, set()
    for node in soup.descendants:  # one pass: every search of the tree costs as much as the pass itself
        if isinstance(node, NavigableString):
            if not isinstance(node, Comment) and node.parent.name not in _HIDDEN and (text := node.strip()):
                strings.append((text, id(node) in in_box))
        elif node.name == "body":
            body = node
        elif node.get("id") == "instruction-text":
            in_box = {id(s) for s in node.descendants}
        elif node.get("id") == "search_input":
            search_form = node.find_parent("form")
        if isinstance(node, Tag) and _is_clickable(node):
            elements.append(node)
    state = {k.removeprefix("data-"): v for k, v in body.attrs.items() if k.startswith("data-") and k != "data-page"}
    anchor = SEP.join(s for s, in_box in strings if not in_box)
    chosen = json.loads(state.get("options", "{}"))
    if chosen:
        anchor += SEP + "chosen: " + ", ".join(f"{k}: {v}" for k, v in chosen.items())
    instruction = [s for s, in_box in strings if in_box]
    return Page(url=url, kind=body.get("data-page", "error"), text=SEP.join(s for s, _ in strings),
                anchor=anchor or "(empty page)", instruction=instruction[-1] if instruction else None,
                clickables=MappingProxyType(_clickables(elements, search_form)),
                search_url=search_form.get("action") if search_form else None, state=MappingProxyType(state))


def _is_clickable(tag: Tag) -> bool:
    """`CLICKABLE_SELECTOR`, without a CSS engine (soupsieve costs more than the rest of the page)."""
    if tag.name == "input":
        return tag.get("type") == "radio"
    classes = tag.get("class") or ()
    return "btn" in classes or "product-link" in classes


def _clickables(elements: list[Tag], search_form: Tag | None) -> dict[str, Clickable]:
    out: dict[str, Clickable] = {}
    for position, element in enumerate(elements):
        if element.name == "input":
            name = name_key(element.get("value", ""))
            out[name] = Clickable(name, "option", "get", element.get("data-url", ""), position, element.get("name"))
        elif element.name == "a":
            name = name_key(element.get_text())
            out[name] = Clickable(name, "link", "get", element.get("href", ""), position)
        else:
            form = element.find_parent("form")
            if form is None or form is search_form:  # the search button: search[...] presses it
                continue
            name = name_key(element.get_text())
            method = "post" if form.get("method", "get").lower() == "post" else "get"
            out[name] = Clickable(name, "button", method, form.get("action", ""), position)
    return out
