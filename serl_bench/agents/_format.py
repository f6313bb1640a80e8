"""The action format LLM agents use: reason inside ``<think>...</think>``, act inside ``<action>...</action>``.

The prompt gives the task, the last few steps, the current observation and the admissible actions
(as verl-agent and the SERL paper do). Parsing is forgiving — the last complete ``<action>`` block wins,
an unclosed one at the end (a response cut by the token limit) counts, and a bare admissible action
with no tags is accepted — and it never raises: what it cannot read comes back with an ``error``. The
character span of the action inside the response is kept, so a trainer can find the action's tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from serl_bench.errors import UnknownNameError

ACTION_STOP = ("</action>",)  #: generation ends once the action is closed: nothing after it is read

_ACTION = re.compile(r"<action>(.*?)</action>", re.S | re.I)
_OPEN = re.compile(r"<action>", re.I)


@dataclass(frozen=True)
class ParsedAction:
    action: str | None  #: the action text, or None where the response holds no usable action
    span: tuple[int, int] | None  #: character span of ``action`` inside the response
    error: str | None = None  #: why there is no action


def parse_action(response: str, admissible: list[str] | None = None) -> ParsedAction:
    """The action in ``response``; with ``admissible``, a case-insensitive match takes the env's spelling."""
    matches = list(_ACTION.finditer(response))
    if matches:
        start, end = _stripped(response, *matches[-1].span(1))
    else:
        opened = list(_OPEN.finditer(response))
        if opened:  # cut off before </action>: the rest of the response is the action
            start, end = _stripped(response, opened[-1].end(), len(response))
        elif admissible and response.strip().lower() in {a.lower() for a in admissible}:
            start, end = _stripped(response, 0, len(response))
        else:
            return ParsedAction(None, None, "no <action>...</action> in the response")
    action = " ".join(response[start:end].split())
    if not action:
        return ParsedAction(None, None, "the <action> block is empty")
    if admissible:
        spelled = {a.lower(): a for a in admissible}.get(action.lower())
        action = spelled or action
    return ParsedAction(action, (start, end))


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class PromptStyle(StrEnum):
    """How much a prompt says."""

    STANDARD = "standard"  #: reason in <think>, then act; the last observations and actions; every action listed
    COMPACT = "compact"  #: act only; the earlier actions; the task not repeated inside observations (short prompts)


@dataclass(frozen=True)
class PromptFormat:
    """How an env's state becomes a prompt. Template fields: {intro} {task} {history} {observation} {actions}.

    ``history_header`` (field {steps}) and ``history_line`` (fields {n} {observation} {action}) write the
    recent steps; ``clean(observation, task)``, where given, rewrites an observation before it is shown."""

    intro: str
    template: str = (
        "{intro} Your task is to: {task}\n"
        "{history}"
        "Your current observation is: {observation}\n"
        "Admissible actions now: [{actions}].\n\n"
        "Think step by step about what to do next inside <think> </think> tags, then give exactly one "
        "admissible action inside <action> </action> tags."
    )
    history_header: str = "You have taken {steps} step(s) so far. The most recent ones:\n"
    history_line: str = "[Observation {n}: {observation}]\n[Action: {action}]\n"
    action_format: str = "'{}'"
    clean: Callable[[str, str], str] | None = None
    hide_visible: bool = False  #: leave out of the list ``click[x]`` actions whose ``x`` the observation shows


def _compact(intro: str, clean: Callable[[str, str], str] | None = None, hide_visible: bool = False
             ) -> PromptFormat:
    hint = " (or click[...] on any button or item id shown)" if hide_visible else ""
    return PromptFormat(
        intro=intro, template="{intro}\nTask: {task}\n{history}Now: {observation}\nActions: {actions}" + hint +
                              "\nReply with one action inside <action></action>.",
        history_header="Done so far: ", history_line="{action}; ", action_format="{}", clean=clean,
        hide_visible=hide_visible)


def _webshop_compact(observation: str, task: str) -> str:
    """A WebShop page without its repeated instruction (the prompt states the task once), its ``[SEP]``
    separators written as ``|`` (one token instead of three), in lower case (as actions are written: item ids
    are copied as shown)."""
    for prefix in (f"Instruction: [SEP] {task} [SEP] ", f"Instruction: [SEP] {task}"):
        observation = observation.replace(prefix, "")
    return observation.removeprefix("WebShop [SEP] ").replace(" [SEP] ", " | ").lower()


FORMATS: dict[tuple[str, PromptStyle], PromptFormat] = {
    ("serl/ALFWorld-v0", PromptStyle.STANDARD): PromptFormat(
        intro="You are an expert agent acting in a household (ALFWorld)."),
    ("serl/ALFWorld-v0", PromptStyle.COMPACT): _compact("You act in a household (ALFWorld)."),
    ("serl/WebShop-v0", PromptStyle.COMPACT): _compact("You shop on a website (WebShop).", _webshop_compact,
                                                       hide_visible=True),
}
GENERIC = PromptFormat(intro="You are an expert agent acting in a text environment.")
GENERIC_COMPACT = _compact("You act in a text environment.")


def prompt_style(value: str) -> PromptStyle:
    if value not in PromptStyle._value2member_map_:
        raise UnknownNameError("prompt style", value, [s.value for s in PromptStyle])
    return PromptStyle(value)


def format_for(env_id: str | None, style: str = PromptStyle.STANDARD) -> PromptFormat:
    """The prompt format of an env (by Gymnasium id) in a style; a generic one for other envs."""
    style = prompt_style(style)
    return FORMATS.get((env_id or "", style), GENERIC if style == PromptStyle.STANDARD else GENERIC_COMPACT)
