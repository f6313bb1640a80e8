"""``serl-bench show``: a run's transcripts, readable — one episode in the terminal, or all of them as a page.

    serl-bench show runs/x                       # the first failed evaluation episode (else episode 0)
    serl-bench show runs/x --episode 7
    serl-bench show runs/x --list                # one line per episode: outcome, steps, invalid responses
    serl-bench show runs/x --prompts             # also each prompt's last turn, as the model saw it
    serl-bench show runs/x --train --update 3    # a logged training group's rollouts (--rollout R)
    serl-bench show runs/x --html page.html      # every episode on one static page
"""

from __future__ import annotations

import html
import textwrap
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .rundir import RunDir

_RULE = "-" * 100


def load(run: str | Path, *, train: bool = False) -> list[dict[str, Any]]:
    """The run's transcript lines; a one-line error where the run has none."""
    rundir = RunDir(run)
    if not rundir.config_path.is_file():
        raise ConfigError(f"{run} is not a run directory (no config.json)")
    path = rundir.transcripts_path(train)
    if not path.is_file():
        what = "training transcripts (train-transcripts.jsonl)" if train else "transcripts (transcripts.jsonl)"
        raise ConfigError(f"{run} has no {what}: runs written before serl-bench logged transcripts have none; "
                          "evaluate it again to get them")
    lines = rundir.read_transcripts(train=train)
    if not lines:
        raise ConfigError(f"{path} is empty: the run has not finished an episode yet")
    return lines


def select(lines: list[dict[str, Any]], *, episode: int | None = None, update: int | None = None,
           rollout: int = 0) -> dict[str, Any]:
    """One line: an evaluation ``episode`` (default: the first failed one, else the first), or a training
    ``update``'s ``rollout`` (default: the last update logged)."""
    if "update" in lines[0]:
        updates = sorted({x["update"] for x in lines})
        update = updates[-1] if update is None else update
        chosen = [x for x in lines if x["update"] == update]
        if not chosen:
            raise ConfigError(f"update {update} has no logged group; logged updates: {_span(updates)}")
        for line in chosen:
            if line.get("rollout", 0) == rollout:
                return line
        raise ConfigError(f"update {update} logged rollouts 0..{len(chosen) - 1}, not {rollout}")
    if episode is None:
        return next((x for x in lines if not x["won"]), lines[0])
    for line in lines:
        if line["episode"] == episode:
            return line
    held = _span([x["episode"] for x in lines])
    raise ConfigError(f"no episode {episode} in the transcripts; they hold episodes {held}")


def _span(numbers: list[int]) -> str:
    return f"{min(numbers)}..{max(numbers)}" if numbers else "none"


def heading(line: dict[str, Any]) -> str:
    """``episode 3 · task 12 (seed 3) · lost · score 0.50 · 5 steps · 2 invalid``."""
    steps = [s for trial in line["trials"] for s in trial]
    invalid = sum(s["parse_error"] is not None for s in steps)
    where = f"episode {line['episode']}" if "episode" in line else \
        f"update {line['update']} · group {line.get('group', 0)} · rollout {line.get('rollout', 0)}"
    outcome = "won" if line["won"] else ("cut at the step limit" if line.get("truncated") else "lost")
    parts = [where, f"task {line['task_id']} (seed {line['seed']})", outcome, f"score {line['score']:.2f}",
             f"{len(steps)} steps"]
    if len(line["trials"]) > 1:
        parts.append(f"{len(line['trials'])} trials")
    if invalid:
        parts.append(f"{invalid} invalid")
    if line.get("error"):
        parts.append(f"error: {line['error']}")
    return " · ".join(parts)


def listing(lines: list[dict[str, Any]]) -> str:
    return "\n".join(heading(x) for x in lines)


def as_text(line: dict[str, Any], *, width: int = 100, prompts: bool = False) -> str:
    """One episode for the terminal: each step's observation, response, action, feedback and reward (and with
    ``prompts`` the prompt's last turn as the model saw it)."""
    out = [heading(line), f"goal: {line.get('task') or '-'}"]
    if line.get("first_turn"):
        out += ["instructions (first turn of the prompt):", _indent(line["first_turn"], width)]
    for t, trial in enumerate(line["trials"], 1):
        if len(line["trials"]) > 1:
            out += ["", f"=== trial {t} ==="]
        for step in trial:
            out += ["", f"{_RULE[:10]} step {step['step'] + 1} {_RULE[: width - 20]}"]
            if step.get("first_turn"):
                out += ["instructions changed:", _indent(step["first_turn"], width)]
            out += ["observation:", _indent(step["observation"], width)]
            if step["prompt"] is not None:
                out.append(f"prompt: {step['prompt']['chars']} characters, sha256 {step['prompt']['sha256'][:12]}")
                if prompts:
                    out += ["prompt, last turn:", _indent(step["prompt"]["last_turn"], width)]
            if step["response"] is not None:
                out += ["response:", _indent(step["response"], width)]
            out.append(f"action: {step['action']!r}   reward {step['reward']:g}")
            if step["parse_error"]:
                out.append(f"invalid: {step['parse_error']}")
            if step["feedback"]:
                out.append(f"feedback: {step['feedback']}")
    return "\n".join(out)


def _indent(text: str | None, width: int) -> str:
    if not text:
        return "    (empty)"
    return "\n".join(textwrap.fill(p, width, initial_indent="    ", subsequent_indent="    ", replace_whitespace=False)
                     if p.strip() else "" for p in text.splitlines())


def write_html(lines: list[dict[str, Any]], path: str | Path, *, title: str) -> Path:
    """Every line on one static page (no scripts, every text escaped): an index, then each episode."""
    esc = html.escape
    index, bodies = [], []
    for k, line in enumerate(lines):
        anchor = f"e{k}"
        outcome = "won" if line["won"] else "lost"
        index.append(f'<li class="{outcome}"><a href="#{anchor}">{esc(heading(line))}</a></li>')
        steps = []
        for t, trial in enumerate(line["trials"], 1):
            if len(line["trials"]) > 1:
                steps.append(f"<h3>trial {t}</h3>")
            for step in trial:
                rows = [("observation", step["observation"])]
                if step["response"] is not None:
                    rows.append(("response", step["response"]))
                rows.append(("action", f"{step['action']}    (reward {step['reward']:g})"))
                if step["parse_error"]:
                    rows.append(("invalid", step["parse_error"]))
                if step["feedback"]:
                    rows.append(("feedback", step["feedback"]))
                cells = "".join(f'<tr><th>{name}</th><td><pre>{esc(text or "")}</pre></td></tr>' for name, text in rows)
                steps.append(f'<table class="step"><caption>step {step["step"] + 1}</caption>{cells}</table>')
        first = f"<details><summary>instructions</summary><pre>{esc(line['first_turn'])}</pre></details>" \
            if line.get("first_turn") else ""
        bodies.append(f'<section id="{anchor}"><h2>{esc(heading(line))}</h2><p class="goal">goal: '
                      f'{esc(line.get("task") or "-")}</p>{first}{"".join(steps)}</section>')
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{esc(title)}</title><style>{_CSS}</style>"
            f"</head><body><h1>{esc(title)}</h1><ol class=\"index\">{''.join(index)}</ol>{''.join(bodies)}"
            "</body></html>\n")
    path = Path(path)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}pre{white-space:pre-wrap;margin:0}
.index li.won a{color:#176117}.index li.lost a{color:#8a1c1c}table.step{border-collapse:collapse;margin:1em 0;
width:100%}table.step th{text-align:left;vertical-align:top;width:7em;color:#555}table.step td,table.step th{
border-top:1px solid #ddd;padding:.3em}caption{text-align:left;font-weight:bold}.goal{font-style:italic}"""
