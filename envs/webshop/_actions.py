"""WebShop's two actions, ``search[keywords]`` and ``click[name]``: parsing and the admissible list.

The original parses ``name[arg]`` with one regular expression and silently ignores what does not fit;
here whatever does not fit is a `ParseError` whose message the env gives back as feedback.

``info["admissible_actions"]`` is the original's ``get_available_actions`` as one list: on a page with a
search box, the marker ``search[<query>]`` (`SEARCH_MARKER`: write your own keywords in place of
``<query>``), then ``click[name]`` for every clickable, lowercased as the original lists them. Played as
written, the marker searches for the instruction itself (the query of the original paper's rule baseline),
so a policy that picks it from the list, such as the random baseline, still gets to shop.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ._text import name_key

PLACEHOLDER = "<query>"
SEARCH_MARKER = f"search[{PLACEHOLDER}]"  #: in ``admissible_actions`` where the page has a search box
MAX_SHOWN = 60  #: characters of a bad action quoted back in feedback
MAX_KEYWORDS = 1000  #: longest search (a longer one would overflow the URL the site reads it from)
_ACTION = re.compile(r"\s*([A-Za-z_]+)\s*\[(.*)\]\s*", re.DOTALL)


@dataclass(frozen=True)
class Action:
    verb: Literal["search", "click"]
    arg: str  #: keywords (whitespace and control characters made single spaces) or the clickable's name


class ParseError(ValueError):
    """An action that is not ``search[...]`` or ``click[...]``; the message is the feedback."""


def parse_action(action: object) -> Action:
    """``search[red shoes]`` -> Action("search", "red shoes"); anything malformed raises ParseError."""
    if not isinstance(action, str):
        raise ParseError(f"Invalid action: expected text such as search[keywords] or click[button], "
                         f"got {type(action).__name__}.")
    if not action.strip():
        raise ParseError("Invalid action: empty; use search[keywords] or click[button].")
    found = _ACTION.fullmatch(action)
    if found is None:
        raise ParseError(f"Invalid action: {quote(action)} is not search[keywords] or click[button].")
    verb, arg = found.group(1).lower(), found.group(2)
    if verb not in ("search", "click"):
        raise ParseError(f"Invalid action: unknown action {quote(verb)}; use search[keywords] or click[button].")
    if verb == "search":
        arg = clean_keywords(arg)
        if not arg:
            raise ParseError("Invalid action: search needs keywords, e.g. search[red shoes].")
        if len(arg) > MAX_KEYWORDS:
            raise ParseError(f"Invalid action: search keywords are limited to {MAX_KEYWORDS} characters, "
                             f"got {len(arg)}.")
    else:
        arg = name_key(arg)
        if not arg:
            raise ParseError("Invalid action: click needs a button, e.g. click[buy now].")
    return Action(verb, arg)


def clean_keywords(text: str) -> str:
    """Keywords as both modes send them: control and format characters and lone surrogates as spaces (a
    browser's text box drops some of them, and a URL cannot carry a lone surrogate), whitespace runs as one
    space."""
    return " ".join("".join(" " if unicodedata.category(c)[0] == "C" else c for c in text).split())


def quote(text: str) -> str:
    """``text`` quoted for feedback, cut to `MAX_SHOWN` characters, control characters escaped."""
    shown = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."
    return '"' + "".join(c if unicodedata.category(c)[0] != "C" else repr(c)[1:-1] for c in shown) + '"'


def admissible(has_search_bar: bool, clickables: list[str]) -> list[str]:
    return ([SEARCH_MARKER] if has_search_bar else []) + [f"click[{name}]" for name in clickables]
