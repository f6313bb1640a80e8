"""`render`: the board as ``leaderboard/README.md`` and a static, offline ``leaderboard/index.html``.

Both are built from the validated records under ``submissions/`` and, in a separate table that is
never ranked with them, the figures of ``reported.json``. The HTML page embeds its data as JSON and
builds the table with DOM text nodes, so nothing a submission contains is ever interpreted as markup.
"""

from __future__ import annotations

import html
import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from serl_bench.envs import ENVS
from serl_bench.results import AnyRecord, panel_of

from ._reported import ReportedFigure, load_reported
from ._safejson import SubmissionError
from ._validate import SUBMISSIONS, Verification, read_submission

_TEMPLATE = Path(__file__).with_name("board.html")


@dataclass(frozen=True)
class Row:
    """One measured submission, as the board shows it."""

    file: str
    method: str
    env: str
    split: str
    split_source: str
    tasks: str  #: first 8 hex digits of the split's fingerprint: rows with equal ones ran the same tasks
    max_steps: int | None  #: episode length cap (None: a version 1 record, which did not say)
    panel: str  #: tasks and episode length: rows are ranked only against rows of the same panel
    success: float  #: percent
    ci_lo: float
    ci_hi: float
    score: float
    episodes: int
    feedback: str
    model: str
    training: str
    hardware: str
    date: str
    task_types: str
    schema_version: int
    settings: str  #: the method's arguments, briefly
    verified: bool = False  #: every episode was replayed on submission and gave its logged outcome
    verification: str = "not replayed"  #: how the row was checked, in words


def load_submissions(board: str | os.PathLike) -> list[tuple[str, AnyRecord, Verification | None]]:
    """Every record under ``board/submissions/``, validated, with how the board verified it (None: accepted
    before the board replayed submissions); a broken one is an error naming its file."""
    folder = Path(board) / SUBMISSIONS
    if not folder.is_dir():
        return []
    return [(p.name, *read_submission(p)) for p in sorted(folder.glob("*.json"))]


def rows(records: list[tuple[str, AnyRecord] | tuple[str, AnyRecord, Verification | None]]) -> list[Row]:
    out = []
    for name, r, *rest in records:
        v = rest[0] if rest else None
        f, m, t = r.feedback, r.model, r.training
        params = f", {m.parameters / 1e6:.0f}M" if m and m.parameters else ""
        tasks = r.split_fingerprint[:8] if r.split_fingerprint else "unknown"
        max_steps = r.protocol.max_steps if r.schema_version >= 2 else None
        out.append(Row(
            file=name, method=r.method, env=r.env if r.env in ENVS else f"{r.env} (not bundled)", split=r.split,
            split_source=r.split_source, tasks=tasks,
            max_steps=max_steps, panel=panel_of(r),
            success=round(100 * r.success_rate, 1), ci_lo=round(100 * r.success_ci95[0], 1),
            ci_hi=round(100 * r.success_ci95[1], 1), score=round(r.score_mean, 3), episodes=r.episodes,
            feedback=f"{f.combine.join(f.sources)} @ {f.granularity}" if f else "none",
            model=f"{m.name}{params}{', ' + m.dtype if m.dtype else ''}" if m else "none",
            training=(f"{t.updates} updates, {t.rollouts} rollouts, {_count(t.tokens)} tokens, "
                      f"{t.wall_clock_s / 60:.0f} min on {t.device}") if t else "none (eval only)",
            hardware=str(r.hardware.get("gpu") or r.hardware.get("cpu") or "unknown")[:80],
            date=r.created_at.date().isoformat(),
            task_types=", ".join(f"{k} {100 * v.success_rate:.0f}%" for k, v in r.per_task_type.items()),
            schema_version=r.schema_version, settings=_settings(r.method_args),
            verified=bool(v and v.replayed),
            verification=v.note if v else "not replayed (accepted before submissions were replayed)",
        ))
    return sorted(out, key=lambda row: (row.env, row.split_source, row.panel, -row.success, -row.score, row.file))


def _settings(args: dict) -> str:
    text = ", ".join(f"{k}={v}" for k, v in args.items() if k != "model")
    return text if len(text) <= 160 else text[:157] + "..."


def render(board: str | os.PathLike = "leaderboard") -> tuple[Path, Path]:
    """Write ``README.md`` and ``index.html`` in ``board``; their paths."""
    board = Path(board)
    measured = rows(load_submissions(board))
    reported = load_reported(board)
    readme, page = board / "README.md", board / "index.html"
    try:
        board.mkdir(parents=True, exist_ok=True)
        readme.write_text(markdown(measured, reported), encoding="utf-8")
        page.write_text(html_page(measured, reported), encoding="utf-8")
    except OSError as exc:
        raise SubmissionError(f"cannot write the board in {board}: {exc.strerror or exc}") from None
    return readme, page


def markdown(measured: list[Row], reported: list[ReportedFigure]) -> str:
    lines = [
        "# serl-bench leaderboard",
        "",
        "Measured results only: every row is a run whose figures `serl-bench leaderboard submit` recomputed",
        "from its episode log before accepting it, and whose every episode it replayed on the same env, task",
        "and seed to the outcome the log claims. Rows marked **unverified** were not replayed (submitted with",
        "`--no-replay`, or accepted before replay): their figures match their log, but the log itself is",
        "unchecked. Success (task solved) and score (the env's reward, WebShop's attribute/option/price",
        "match) are separate figures. Intervals are Wilson 95 %. Rows are ranked by",
        "success within a *panel*: the same env, split source, tasks (the split's fingerprint: its task",
        "contents) and episode length. Rows of different panels are not comparable and are never ranked together.",
        "The same board, sortable and filterable, is `index.html` (open it in a browser; works offline).",
        "Regenerate with `serl-bench leaderboard render`; add a run with `serl-bench leaderboard submit RUN_DIR`.",
        "",
    ]
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in measured:
        groups[(row.env, row.split_source)].append(row)
    if not groups:
        lines += ["*No submissions yet.*", ""]
    for (env, source), group in groups.items():
        lines += [f"## {env} — {source} splits", ""]
        panels: dict[str, list[Row]] = defaultdict(list)
        for row in group:
            panels[row.panel].append(row)
        for panel, members in sorted(panels.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines += [f"### {panel}", "", "Ranked only among themselves: other panels ran other tasks or cut "
                      "episodes at another length." if len(panels) > 1 else "One panel: all rows ran the same tasks "
                      "with the same episode length.", "",
                      "| # | method | settings | split | success % [95 % CI] | score | episodes | feedback | model "
                      "| training | submitted | verified |",
                      "|---:|---|---|---|---|---:|---:|---|---|---|---|---|"]
            for rank, r in enumerate(members, 1):
                cells = [str(rank), r.method, r.settings or "-", r.split,
                         f"{r.success:.1f} [{r.ci_lo:.1f}, {r.ci_hi:.1f}]", f"{r.score:.3f}", str(r.episodes),
                         r.feedback, r.model, r.training, r.date, "replayed" if r.verified else "**unverified**"]
                lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
            lines.append("")
    lines += [
        "## Reported elsewhere (not measured here)",
        "",
        "Figures from papers, as their authors report them, for orientation only: different models, splits,",
        "budgets and code. They are not serl-bench runs, are not ranked with the tables above and are never",
        "counted as ours.",
        "",
        "| method | env | success % | score | model | setting | source |",
        "|---|---|---:|---:|---|---|---|",
    ]
    if not reported:
        lines.append("| *none recorded (see reported.json)* | | | | | | |")
    for f in reported:
        score = f"{f.score_mean:.3f}" if f.score_mean is not None else "not reported"
        cells = [f.method, f.env, f"{100 * f.success_rate:.1f}", score, f.model, f.setting, f.source]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def html_page(measured: list[Row], reported: list[ReportedFigure]) -> str:
    data = {"measured": [asdict(r) for r in measured], "reported": [f.model_dump() for f in reported]}
    # JSON inside <script>: escape <, > and & so no string can close the element or open another.
    payload = json.dumps(data, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e").replace(
        "&", "\\u0026")
    return _TEMPLATE.read_text(encoding="utf-8").replace("/*DATA*/null", payload).replace(
        "<!--COUNT-->", html.escape(str(len(measured))))


def _md(text: str) -> str:
    text = " ".join(str(text).split())
    return html.escape(text, quote=False).replace("|", "\\|")


def _count(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)
