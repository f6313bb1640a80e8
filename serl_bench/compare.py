"""``serl-bench compare``: several runs side by side, with intervals, significance tests and plots.

Success rates get Wilson 95 % intervals and a two-sided Fisher exact test against the first run (exact
at any sample size, where a z-test misleads on the small evaluations CPU runs make); score means get a
normal-approximation 95 % interval from the episode scores. Runs are read through the leaderboard's
validation, so a damaged run is a one-line error, not a wrong table.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .leaderboard import SubmissionError, iter_jsonl, read_episodes, validate
from .results import Z95, AnyRecord, panel_of


@dataclass(frozen=True)
class RunFigures:
    """One run's figures, as compared."""

    name: str
    path: Path
    record: AnyRecord
    wins: int
    score_ci95: tuple[float, float]
    curve: list[dict[str, Any]]  #: metrics.jsonl lines (training runs), else empty
    p_value: float | None  #: Fisher exact test of success vs the first run; None for the first and for other panels
    panel: str  #: env, tasks and episode length (`serl_bench.results.panel_of`)


def load_runs(paths: list[str | os.PathLike]) -> list[RunFigures]:
    if not paths:
        raise ConfigError("compare needs at least one run directory")
    runs: list[RunFigures] = []
    names = _names([Path(p) for p in paths])
    for path, name in zip(map(Path, paths), names, strict=True):
        if not path.is_dir():
            raise SubmissionError(f"{path}: not a run directory")
        record = validate(path)
        episodes = read_episodes(path / "episodes.jsonl")
        if len(episodes) != record.episodes:
            raise SubmissionError(f"{path}: results.json counts {record.episodes} episodes, the log holds "
                                  f"{len(episodes)}; re-run or resume it")
        wins = sum(e.won for e in episodes)
        scores = [e.score for e in episodes]
        mean = sum(scores) / len(scores)
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)) if len(scores) > 1 else 0.0
        half = Z95 * sd / math.sqrt(len(scores))
        metrics = path / "metrics.jsonl"
        curve = [line for _, line in iter_jsonl(metrics) if isinstance(line, dict)] if metrics.exists() else []
        first, where = (runs[0] if runs else None), f"{record.env}, {panel_of(record)}"
        p = fisher_exact(wins, record.episodes, first.wins, first.record.episodes) \
            if first and first.panel == where else None
        runs.append(RunFigures(name, path, record, wins, (max(0.0, mean - half), min(1.0, mean + half)), curve, p,
                               where))
    return runs


def other_panels(runs: list[RunFigures]) -> list[RunFigures]:
    """The runs that ran other tasks or another episode length than the first: no test against it."""
    return [r for r in runs[1:] if r.panel != runs[0].panel]


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact test p-value for successes k1/n1 vs k2/n2 (sum of tables as likely or less)."""
    total, wins = n1 + n2, k1 + k2
    lo, hi = max(0, wins - n2), min(wins, n1)

    def log_prob(k: int) -> float:
        return _log_comb(n1, k) + _log_comb(n2, wins - k) - _log_comb(total, wins)

    observed = log_prob(k1)
    p = sum(math.exp(lp) for lp in (log_prob(k) for k in range(lo, hi + 1)) if lp <= observed + 1e-9)
    return min(1.0, p)


def fisher_greater(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher exact test p-value that k1/n1 is a *higher* success rate than k2/n2:
    the probability, with the margins fixed, of a table at least as favourable to the first."""
    total, wins = n1 + n2, k1 + k2
    hi = min(wins, n1)
    return min(1.0, sum(math.exp(_log_comb(n1, k) + _log_comb(n2, wins - k) - _log_comb(total, wins))
                        for k in range(k1, hi + 1)))


def table(runs: list[RunFigures]) -> str:
    """The comparison as a plain-text table, one row per run, then per-task-type success."""
    head = ["run", "method", "env/split", "episodes", "success % [95 % CI]", "p vs first", "score [95 % CI]",
            "feedback"]
    body = []
    for r in runs:
        rec, (lo, hi), (slo, shi) = r.record, r.record.success_ci95, r.score_ci95
        feedback = f"{rec.feedback.combine.join(rec.feedback.sources)} @ {rec.feedback.granularity}" \
            if rec.feedback else "-"
        body.append([r.name, rec.method, f"{rec.env}/{rec.split}", str(rec.episodes),
                     f"{100 * rec.success_rate:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]",
                     "other panel" if r.panel != runs[0].panel else "-" if r.p_value is None else f"{r.p_value:.3g}",
                     f"{rec.score_mean:.3f} [{slo:.3f}, {shi:.3f}]", feedback])
    out = _grid(head, body)
    types = sorted({t for r in runs for t in r.record.per_task_type})
    if types:
        head = ["run"] + types
        body = [[r.name] + [(f"{100 * v.success_rate:.0f} % ({v.episodes})" if (v := r.record.per_task_type.get(t))
                             else "-") for t in types] for r in runs]
        out += "\n\nsuccess per task type (episodes)\n" + _grid(head, body)
    if len(runs) > 1:
        out += ("\n\np vs first: two-sided Fisher exact test of the success rate against the first run; "
                "below 0.05 is a difference unlikely to be chance (with many runs, correct for multiple tests).")
    for r in other_panels(runs):
        out += (f"\nNOT COMPARABLE: {r.name} ran {r.panel}; {runs[0].name} ran {runs[0].panel}. Their success "
                "rates measure different tasks or episode lengths, so no p-value is given.")
    return out


def plot(runs: list[RunFigures], path: str | os.PathLike) -> Path:
    """Learning curves (success and score vs updates) and a bar chart with error bars, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"--plot writes PNG; give a file name ending in .png, not {path.name!r}")
    trained = [r for r in runs if r.curve]
    fig, axes = plt.subplots(1, 3 if trained else 1, figsize=(15 if trained else 6, 4.2), squeeze=False)
    axes = axes[0]
    if trained:
        for ax, metric, title in ((axes[0], "success_rate", "success rate"), (axes[1], "score_mean", "score")):
            for r in trained:
                colour = f"C{runs.index(r)}"
                xs = [m.get("update", j) for j, m in enumerate(r.curve)]
                train = [m.get(f"charts/{metric}") for m in r.curve]
                if any(v is not None for v in train):
                    ax.plot(xs, [math.nan if v is None else v for v in train], color=colour, alpha=.5,
                            label=f"{r.name} (rollouts)")
                points = [(x, m[f"eval/{metric}"]) for x, m in zip(xs, r.curve, strict=True) if f"eval/{metric}" in m]
                if points:
                    ax.plot(*zip(*points, strict=True), "o-", color=colour, label=f"{r.name} (eval)")
            ax.set(title=f"{title} vs updates", xlabel="update", ylabel=title, ylim=(-0.03, 1.03))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=.3)
            ax.legend(fontsize=7)
    ax = axes[-1]
    xs = range(len(runs))
    success = [100 * r.record.success_rate for r in runs]
    err = [[s - 100 * r.record.success_ci95[0] for s, r in zip(success, runs, strict=True)],
           [100 * r.record.success_ci95[1] - s for s, r in zip(success, runs, strict=True)]]
    ax.bar([x - .2 for x in xs], success, width=.4, yerr=err, capsize=4, label="success % (Wilson 95 %)",
           color=[f"C{i}" for i in xs])
    score = [100 * r.record.score_mean for r in runs]
    serr = [[s - 100 * r.score_ci95[0] for s, r in zip(score, runs, strict=True)],
            [100 * r.score_ci95[1] - s for s, r in zip(score, runs, strict=True)]]
    ax.bar([x + .2 for x in xs], score, width=.4, yerr=serr, capsize=4, label="score × 100 (95 %)",
           color=[f"C{i}" for i in xs], alpha=.45, hatch="//")
    ax.set_xticks(list(xs), [r.name for r in runs], rotation=20, ha="right", fontsize=8)
    ax.set(title="final evaluation", ylabel="%", ylim=(0, 128), yticks=range(0, 101, 20))
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path


def as_json(runs: list[RunFigures]) -> list[dict[str, Any]]:
    return [{"run": r.name, "path": str(r.path), "p_value_vs_first": r.p_value, "panel": r.panel,
             "comparable_with_first": r.panel == runs[0].panel, "score_ci95": list(r.score_ci95),
             "record": r.record.model_dump(mode="json"), "wins": r.wins, "updates": len(r.curve)} for r in runs]


def _names(paths: list[Path]) -> list[str]:
    names = [p.resolve().name or str(p) for p in paths]
    return [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths, strict=True)]


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _grid(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, body)])

