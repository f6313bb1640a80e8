"""ALFRED-style names for the objects of a user's PDDL problem, so that alfworld's demangler can show them.

alfworld's ``AlfredDemangler`` shows an object by the part of its id before the first ``_bar_`` and a
number it assigns per shown name (``Apple_bar__plus_01_dot_20...`` -> ``apple 1``). An id without ``_bar_``
(``apple1``, ``Apple_a``, ``the-apple``) is shown as itself plus a trailing space (``"apple1 "``); the
engine strips the commands it is given, so no command naming such an object ever matches ("Nothing
happens."). The stock alfworld stack behaves the same.

`alfred_names` renames every object and receptacle of such a problem the way `_procgen` writes ids
(``Class|+00.00|+00.00|+00.01``, mangled), everywhere it occurs, the goal included. The demangler numbers
the ids of one shown name in *reverse* sorted order, so the coordinates encode each object's rank: the
objects of a type are numbered in the order of the number their own name ends with (``cabinet2`` is
``cabinet 2``), then in the order they are declared. A type whose objects are all named in ALFRED's style
already is left as it is, so ALFRED's own problems are unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import alfworld.gen.constants as C

from serl_bench.errors import GameFileError

from ._procgen import _BASIN_PARENT, _fmt_coord, mangle

_TOKEN = re.compile(r";[^\n]*|[()]|[^\s();]+")
_TYPE_FACTS = {"object": "objecttype", "receptacle": "receptacletype"}  # declared type -> its class fact
_CANONICAL = {name.lower(): name for name in C.OBJECTS}
_DEMANGLED = (("_bar_", "|"), ("_minus_", "-"), ("_plus_", "+"), ("_dot_", "."), ("_comma_", ","))


def shown_name(pddl_name: str) -> tuple[str, bool]:
    """What alfworld's ``Demangler`` shows for ``pddl_name`` (lowercase, as fast-downward passes names on)
    without its number, and whether it gets a number (``alfworld.agents.utils.misc.Demangler``)."""
    name = pddl_name.lower()
    text = name
    for word, char in _DEMANGLED:
        text = text.replace(word, char)
    if "|" not in text:
        return text, False
    shown = text.split("|", 1)[0]
    return (shown + "basin" if "basin" in name else shown), True


def alfred_names(problem: str, origin: Path) -> str:
    """``problem`` with ALFRED-style ids for objects the demangler cannot show (unchanged if there are none).

    A problem this cannot read (unbalanced parentheses, no ``:objects``) is returned unchanged, for
    fast-downward to name what is wrong. One that cannot be fixed raises a one-line `GameFileError`.
    """
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(problem) if not m.group().startswith(";")]
    tree = _tree(t for _, _, t in tokens)
    if tree is None:
        return problem
    sections = {s[0].lower(): s[1:] for s in tree[1:] if isinstance(s, list) and s and isinstance(s[0], str)}
    if not tree or not isinstance(tree[0], str) or tree[0].lower() != "define" or ":objects" not in sections:
        return problem
    declared = _declared(sections[":objects"])
    classes = _classes(sections.get(":init", []))

    by_class: dict[str, list[tuple[int, str]]] = {}
    for index, (name, kind) in enumerate(declared):
        if kind not in _TYPE_FACTS:
            continue
        found = classes.get((_TYPE_FACTS[kind], name.lower()), [])
        if len(found) != 1:
            if shown_name(name)[1]:
                continue  # the demangler numbers it already, and no single type says what else to call it
            what = "no" if not found else f"{len(found)} different"
            raise GameFileError(
                f"{origin}: {kind} {name} has {what} ({_TYPE_FACTS[kind]} {name} ...) facts, so it cannot be given "
                "a name the game can show (an ALFRED id such as Apple_bar__plus_00_dot_00_bar__plus_00_dot_00_bar_"
                "_plus_00_dot_00)")
        by_class.setdefault(found[0], []).append((index, name))

    renames: dict[str, str] = {}
    taken = {name.lower() for name, _ in declared}
    for type_constant, members in by_class.items():
        cls = _class_name(type_constant)
        if all(_plays(name, cls) for _, name in members):
            continue
        ids = _new_ids(cls, len(members), taken - {name.lower() for _, name in members})
        if ids is None:
            raise GameFileError(
                f"{origin}: objects of type {type_constant} cannot be given ALFRED names: alfworld's demangler "
                f"shows no id as '{cls.lower()} N' (it appends 'basin' to any id containing it); rename the type")
        ordered = sorted(members, key=lambda m: (_own_number(m[1]), m[0]))
        for new_id, (_, name) in zip(ids, ordered, strict=True):
            renames[name.lower()] = new_id
    return _substituted(problem, tokens, renames) if renames else problem


def _tree(tokens: Iterator[str]) -> list | None:
    """The problem's s-expression (tokens as strings), or None where the parentheses do not balance."""
    stack: list[list] = [[]]
    for token in tokens:
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                return None
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1 or len(stack[0]) != 1 or not isinstance(stack[0][0], list):
        return None
    return stack[0][0]


def _declared(objects: list) -> list[tuple[str, str]]:
    """``(:objects a b - t c - u)`` -> ``[(a, t), (b, t), (c, u)]`` (names untyped there get "object")."""
    declared, pending, items = [], [], iter(objects)
    for item in items:
        if not isinstance(item, str):
            continue
        if item == "-":
            kind = next(items, "")
            kind = kind.lower() if isinstance(kind, str) else ""
            declared += [(name, kind) for name in pending]
            pending = []
        else:
            pending.append(item)
    return declared + [(name, "object") for name in pending]


def _classes(init: list) -> dict[tuple[str, str], list[str]]:
    """(class fact, object name) -> the distinct type constants the initial state gives it."""
    found: dict[tuple[str, str], list[str]] = {}
    for fact in init:
        if isinstance(fact, list) and len(fact) == 3 and all(isinstance(a, str) for a in fact):
            predicate, name, constant = (a.lower() for a in fact)
            if predicate in _TYPE_FACTS.values():
                types = found.setdefault((predicate, name), [])
                if constant not in types:
                    types.append(constant)
    return found


def _class_name(type_constant: str) -> str:
    """``appletype`` -> ``Apple`` (ALFRED's spelling where it is an ALFRED class)."""
    base = type_constant.removesuffix("type") or type_constant
    return _CANONICAL.get(base, base)


def _plays(name: str, cls: str) -> bool:
    """Whether the demangler already shows ``name`` as an object of class ``cls``, with a number."""
    shown, numbered = shown_name(name)
    return numbered and cls.lower() in (shown, shown + "sliced")  # ALFRED ids slices as Apple|...|AppleSliced_1


def _own_number(name: str) -> float:
    found = re.search(r"(\d+)$", name)
    return int(found.group(1)) if found else float("inf")


def _new_ids(cls: str, count: int, taken: set[str]) -> list[str] | None:
    """``count`` ids the demangler shows as ``cls 1`` ... ``cls count``, in that order; None if it cannot."""
    for offset in range(100):
        ids = [_alfred_id(cls, offset, count - k) for k in range(1, count + 1)]  # numbered in reverse sort order
        if any(shown_name(i) != (cls.lower(), True) for i in ids):
            return None
        if not taken & {i.lower() for i in ids}:
            return ids
    return None


def _alfred_id(cls: str, offset: int, rank: int) -> str:
    coords = "|".join(_fmt_coord(part / 100) for part in (offset, rank // 10_000, rank % 10_000))
    if cls in _BASIN_PARENT:
        return mangle(f"{_BASIN_PARENT[cls]}|{coords}|{cls}")
    if cls.lower().endswith("basin") and len(cls) > len("basin"):
        return mangle(f"{cls[: -len('basin')]}|{coords}|{cls}")
    return mangle(f"{cls}|{coords}")


def _substituted(problem: str, tokens: list[tuple[int, int, str]], renames: dict[str, str]) -> str:
    """``problem`` with every use of a renamed object replaced (never a predicate, keyword or type name:
    the token after ``(``, ``-``, ``problem`` or ``:domain``)."""
    out, last, previous = [], 0, ""
    for start, end, token in tokens:
        new = renames.get(token.lower())
        if new is not None and previous.lower() not in ("(", "-", "problem", ":domain"):
            out += [problem[last:start], new]
            last = end
        previous = token
    return "".join(out) + problem[last:]
