"""``serl-bench experiment``: a grid of training runs from one warm start, on one fixed evaluation panel.

The grid is arms (a method with its settings, a feedback spec and a granularity) x seeds. Every run starts
from the same warm start, trains with the same loop settings, and is evaluated on the same panel (the first
``eval_episodes`` tasks of the test split, episode ``i`` seeded ``i``, at the loop's ``eval_temperature``:
greedy by default, the official 0.4 when the grid says so); the warm start itself is evaluated on that panel
first, the same way. Runs are resumable: a finished run is kept, a cut one
resumes from its checkpoint. The summary is a table — success with its Wilson interval and score, per run
and pooled per arm, with one-sided Fisher exact p-values against the warm start and against GRPO — and
learning curves (success and score of the training rollouts vs updates, one line per arm, a band over its
seeds), written as ``summary.md``, ``summary.json`` and ``curves.png``.

A grid is refused before any work when a run is estimated not to fit in the per-run budget; the estimate
comes from this machine's measured model throughput and the env's typical prompt and episode lengths.

Example::

    serl-bench experiment --methods grpo,gigpo,serl --seeds 0,1,2 --updates 20 --out runs/exp
    serl-bench experiment --grid grid.json --out runs/exp          # arms with their own settings
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .options import option
from .results import wilson_interval


@dataclass(frozen=True)
class Arm:
    """One configuration of the grid: a method, its settings, and its feedback."""

    name: str
    method: str
    method_args: dict[str, Any] = field(default_factory=dict)
    feedback: str | None = None  #: None: the loop's default
    granularity: str | None = None
    train: dict[str, Any] = field(default_factory=dict)  #: loop settings of this arm only (rare)


@dataclass(frozen=True)
class ExperimentConfig:
    """Configuration of ``serl-bench experiment`` (arms from --methods x --feedback x --granularity, or --grid)."""

    env: str = option("environment", default="webshop")
    warm_start: str = option("the model every run starts from (a warm start name, a run directory, a model)",
                             default="default-sft-webshop")
    methods: str = option("training methods, comma-separated (each an arm; feedback methods once per feedback "
                          "spec and granularity)", default="grpo,gigpo,serl")
    feedback: str = option("feedback specs for methods that use feedback, comma-separated",
                           default="immediate_feedback")
    granularity: str = option("granularities for methods that use feedback, comma-separated", default="step")
    seeds: str = option("seeds, comma-separated: every arm runs once per seed", default="0,1,2")
    eval_episodes: int = option("evaluation panel: the first N tasks of the test split (0: all of them)", default=0)
    budget_minutes: float = option("time allowed per run; a grid estimated not to fit is refused", default=60.0)
    grid: str | None = option("a JSON file with the arms (and any of these fields); overrides --methods etc.",
                              default=None)
    train_args: dict[str, Any] = option("loop settings of every run (TrainConfig fields), e.g. updates=20",
                                        default_factory=dict)


@dataclass(frozen=True)
class Plan:
    arms: tuple[Arm, ...]
    seeds: tuple[int, ...]
    train: dict[str, Any]
    config: ExperimentConfig

    def runs(self) -> list[tuple[Arm, int, str]]:
        return [(arm, seed, f"{arm.name}-s{seed}") for arm in self.arms for seed in self.seeds]


def plan(config: ExperimentConfig) -> Plan:
    """The grid the config describes (validated: unknown methods, bad seeds and fields fail here)."""
    from .methods import get_method
    from .training import TrainConfig

    data: dict[str, Any] = {}
    if config.grid:
        try:
            data = json.loads(Path(config.grid).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the grid file {config.grid}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("arms"), list) or not data["arms"]:
            raise ConfigError(f"{config.grid}: a grid is a JSON object with a non-empty list 'arms'")
        known = {f.name for f in dataclasses.fields(ExperimentConfig)} - {"grid"}
        unknown = set(data) - known - {"arms", "train"}
        if unknown:
            raise ConfigError(f"{config.grid}: unknown keys {sorted(unknown)}; valid: arms, train, {sorted(known)}")
        config = dataclasses.replace(config, **{k: v for k, v in data.items() if k in known})
    seeds = _ints(data.get("seeds", config.seeds), "--seeds")
    train = {**config.train_args, **data.get("train", {})}
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    reserved = {"method", "method_args", "model", "seed", "env", "feedback", "granularity", "eval_episodes"}
    bad = set(train) - fields or set(train) & reserved
    if bad:
        raise ConfigError(f"train settings {sorted(bad)} are not loop settings an experiment can set (the grid "
                          "sets method, model, seed, env, feedback, granularity and the panel)")
    arms = tuple(_arm(a, config.grid) for a in data["arms"]) if data else _grid_arms(config)
    for arm in arms:
        get_method(arm.method)
    if len({a.name for a in arms}) != len(arms):
        raise ConfigError("arm names must be unique")
    return Plan(arms=arms, seeds=tuple(seeds), train=train, config=config)


def _ints(value: Any, what: str) -> list[int]:
    items = value if isinstance(value, list) else str(value).split(",")
    try:
        out = [int(v) for v in items if str(v).strip() != ""]
    except ValueError:
        raise ConfigError(f"{what} takes whole numbers, e.g. 0,1,2; got {value!r}") from None
    if not out or any(v < 0 for v in out):
        raise ConfigError(f"{what} needs at least one seed, none negative; got {value!r}")
    return out


def _arm(data: Any, where: str) -> Arm:
    if not isinstance(data, dict) or "method" not in data:
        raise ConfigError(f"{where}: each arm is an object with at least 'method' (and name, method_args, feedback, "
                          "granularity, train)")
    known = {f.name for f in dataclasses.fields(Arm)}
    if set(data) - known:
        raise ConfigError(f"{where}: unknown arm keys {sorted(set(data) - known)}; valid: {sorted(known)}")
    return Arm(**{"name": data["method"], **data})


def _grid_arms(config: ExperimentConfig) -> tuple[Arm, ...]:
    from .methods import build_method

    arms = []
    for method in [m.strip() for m in config.methods.split(",") if m.strip()]:
        if getattr(build_method(method)[0], "uses_feedback", False):
            for feedback in config.feedback.split(","):
                for granularity in config.granularity.split(","):
                    name = method if config.feedback.count(",") == config.granularity.count(",") == 0 else \
                        f"{method}[{feedback}@{granularity}]"
                    arms.append(Arm(name=name, method=method, feedback=feedback, granularity=granularity))
        else:
            arms.append(Arm(name=method, method=method))
    if not arms:
        raise ConfigError("--methods names no method")
    return tuple(arms)


# ----------------------------------------------------------------------------------------------- budget


def estimate_minutes(train: Any, env: str, panel: int, *, teacher: bool = False) -> float:
    """About how long one run takes here: this machine's measured model throughput, the env's typical
    prompt and episode lengths, the run's budget (updates x tasks x G), a teacher's scoring where the method
    has one, and the final evaluation of the panel. Calibrated on WebShop runs on 2 CPU cores (an estimate)."""
    from .envs import env_entry

    prompt, steps = {"webshop": (200, 4.5), "alfworld": (500, None)}.get(env_entry(env).name, (500, None))
    prompt *= 1.0 if train.prompt == "compact" else 2.5
    steps = min(steps or train.max_steps, train.max_steps)
    forward = _forward_tokens_per_second()
    tokens = train.updates * train.tasks_per_update * train.group_size * steps * prompt
    kept = 0.5 if train.drop_zero_advantage else 1.0  # samples with a learning signal
    seconds = tokens / forward  # rollouts: prefill, shared prompts once, decode
    seconds += tokens * kept / (forward * (0.5 if train.train_layers else 0.22))  # forward and backward
    seconds += 2 * tokens * kept / forward if teacher else 0.0  # teacher prompts: about twice as long
    seconds += panel * steps * prompt * 1.5 / forward  # the final evaluation
    return seconds / 60 + 1.0


_MEASURED: list[float] = []


def _forward_tokens_per_second() -> float:
    """Prompt tokens per second of the bundled model's forward pass on this machine (measured once, best of 3)."""
    if not _MEASURED:
        import torch

        from .models import resolve_model
        from .models._transformers import auto_classes

        AutoModelForCausalLM = auto_classes()[0]

        device = "cuda" if torch.cuda.is_available() else "cpu"
        model = AutoModelForCausalLM.from_pretrained(resolve_model("default").location, dtype=torch.float32)
        model = model.to(device).eval()
        ids = torch.randint(0, 1000, (4, 256), device=device)
        times = []
        with torch.no_grad():
            model.model(input_ids=ids)
            for _ in range(3):  # the best of three: a passing neighbour process must not inflate the estimate
                start = time.perf_counter()
                model.model(input_ids=ids)
                times.append(time.perf_counter() - start)
        _MEASURED.append(ids.numel() / min(times))
    return _MEASURED[0]


# -------------------------------------------------------------------------------------------------- run


def run_experiment(config: ExperimentConfig, *, out: str | Path, progress: bool = True,
                   dry_run: bool = False) -> Path:
    """Run (or resume) the grid into ``out``; the summary's path."""
    from .training import TrainConfig
    from .training._config import with_profile

    grid = plan(config)
    out = Path(out)
    base = with_profile(TrainConfig(method="grpo", env=grid.config.env, **grid.train),
                        set(grid.train) | {"env"})
    panel = grid.config.eval_episodes or _panel_size(base)
    from .methods import build_method

    teacher = any(getattr(build_method(a.method, **a.method_args)[0], "uses_teacher", False) for a in grid.arms)
    minutes = estimate_minutes(base, base.env, panel, teacher=teacher)
    runs = grid.runs()
    if minutes > grid.config.budget_minutes:
        raise ConfigError(f"each run is estimated at {minutes:.0f} min here (budget {grid.config.budget_minutes:.0f} "
                          f"min per run; {len(runs)} runs, {minutes * len(runs) / 60:.1f} h in all): lower updates, "
                          "tasks_per_update, group_size or the panel, or raise --budget-minutes")
    print(f"experiment: {len(grid.arms)} arms x {len(grid.seeds)} seeds = {len(runs)} runs, about {minutes:.0f} min "
          f"each ({minutes * len(runs) / 60:.1f} h in all), panel of {panel} {base.env} test tasks, from "
          f"{grid.config.warm_start}")
    if dry_run:
        return out
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "experiment.json", {"config": dataclasses.asdict(grid.config),
                                          "arms": [dataclasses.asdict(a) for a in grid.arms],
                                          "seeds": list(grid.seeds), "train": grid.train, "panel": panel})
    _evaluate_start(grid, base, panel, out / "start", progress)
    for k, (arm, seed, name) in enumerate(runs, 1):
        path = out / name
        if (path / "results.json").is_file():
            continue
        print(f"experiment: run {k}/{len(runs)}: {name}")
        _train_run(grid, base, arm, seed, panel, path, progress)
    return summarize_experiment(out)


def _panel_size(base: Any) -> int:
    from .envs import env_entry
    from .rollouts import make_env

    entry = env_entry(base.env)
    env = make_env(entry, base.eval_split or entry.default_split, max_steps=base.max_steps,
                   env_args={**base.env_args, **base.eval_env_args}, progress=False)
    try:
        return len(env.unwrapped.task_ids)
    finally:
        env.close()


def _evaluate_start(grid: Plan, base: Any, panel: int, path: Path, progress: bool) -> None:
    """The warm start on the panel, with the protocol the trained runs' final evaluations use."""
    from .training import evaluate_start

    evaluate_start(dataclasses.replace(base, model=grid.config.warm_start, eval_episodes=panel), path,
                   progress=progress)


def _train_run(grid: Plan, base: Any, arm: Arm, seed: int, panel: int, path: Path, progress: bool) -> None:
    from .training import train

    changes: dict[str, Any] = {"method": arm.method, "method_args": dict(arm.method_args), "seed": seed,
                               "model": grid.config.warm_start, "eval_episodes": panel, **arm.train,
                               "eval_before": False}  # the experiment evaluates the warm start once, not per run
    if arm.feedback:
        changes["feedback"] = arm.feedback
    if arm.granularity:
        changes["granularity"] = arm.granularity
    config = dataclasses.replace(base, **changes)
    train(config, out=path, resume=path.exists(), progress=progress,
          explicit=frozenset(f.name for f in dataclasses.fields(config)))


# ---------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class ArmResult:
    name: str
    runs: list[dict[str, Any]]  #: per seed: run, wins, episodes, success, score, p vs start
    wins: int
    episodes: int
    score_mean: float


def summarize_experiment(out: str | Path) -> Path:
    """Write ``summary.md``, ``summary.json`` and ``curves.png`` for the runs found under ``out``."""
    from .compare import fisher_greater
    from .leaderboard import read_episodes

    out = Path(out)
    spec = json.loads((out / "experiment.json").read_text())
    start = _episodes(out / "start", read_episodes)
    if start is None:
        raise ConfigError(f"{out}: the warm start's evaluation (start/) is missing; run the experiment first")
    start_wins, start_n = sum(e.won for e in start), len(start)
    arms: list[ArmResult] = []
    for arm in spec["arms"]:
        rows = []
        for seed in spec["seeds"]:
            episodes = _episodes(out / f"{arm['name']}-s{seed}", read_episodes)
            if episodes is None:
                continue
            wins = sum(e.won for e in episodes)
            rows.append({"run": f"{arm['name']}-s{seed}", "seed": seed, "wins": wins, "episodes": len(episodes),
                         "success_rate": wins / len(episodes),
                         "score_mean": sum(e.score for e in episodes) / len(episodes),
                         "p_vs_start": fisher_greater(wins, len(episodes), start_wins, start_n)})
        if rows:
            n = sum(r["episodes"] for r in rows)
            arms.append(ArmResult(arm["name"], rows, sum(r["wins"] for r in rows), n,
                                  sum(r["score_mean"] * r["episodes"] for r in rows) / n))
    grpo = next((a for a in arms if a.name == "grpo"), None)
    summary = {"panel": start_n, "start": {"wins": start_wins, "episodes": start_n,
                                          "success_rate": start_wins / start_n,
                                          "success_ci95": list(wilson_interval(start_wins, start_n)),
                                          "score_mean": sum(e.score for e in start) / start_n},
               "arms": []}
    for a in arms:
        summary["arms"].append({
            "arm": a.name, "runs": a.runs, "wins": a.wins, "episodes": a.episodes, "success_rate": a.wins / a.episodes,
            "success_ci95": list(wilson_interval(a.wins, a.episodes)), "score_mean": a.score_mean,
            "p_vs_start": fisher_greater(a.wins, a.episodes, start_wins * len(a.runs), start_n * len(a.runs)),
            "p_vs_grpo": fisher_greater(a.wins, a.episodes, grpo.wins, grpo.episodes) if grpo and a is not grpo
            else None})
    _write_json(out / "summary.json", summary)
    (out / "summary.md").write_text(_markdown(summary, spec), encoding="utf-8")
    _curves(out, spec, arms)
    return out / "summary.md"


def _episodes(path: Path, read: Any) -> list | None:
    return read(path / "episodes.jsonl") if (path / "results.json").is_file() else None


def _markdown(summary: dict[str, Any], spec: dict[str, Any]) -> str:
    s = summary["start"]
    lo, hi = s["success_ci95"]
    lines = [f"# Experiment: {len(spec['arms'])} arms x {len(spec['seeds'])} seeds, panel of {summary['panel']} tasks",
             "", f"Panel played {_protocol(spec)}.", "",
             f"Warm start `{spec['config']['warm_start']}` on the panel: success {100 * s['success_rate']:.1f} % "
             f"[{100 * lo:.1f}, {100 * hi:.1f}], score {s['score_mean']:.3f}.", "",
             "| arm | runs | success % [95 % CI] (pooled) | score | p > start | p > grpo "
             "| per seed (success %, p > start) |",
             "|---|---:|---|---:|---:|---:|---|"]
    for a in summary["arms"]:
        lo, hi = a["success_ci95"]
        seeds = ", ".join(f"s{r['seed']} {100 * r['success_rate']:.1f} (p {r['p_vs_start']:.3f})" for r in a["runs"])
        lines.append(f"| {a['arm']} | {len(a['runs'])} | {100 * a['success_rate']:.1f} [{100 * lo:.1f}, "
                     f"{100 * hi:.1f}] | {a['score_mean']:.3f} | {a['p_vs_start']:.3g} | "
                     f"{'-' if a['p_vs_grpo'] is None else format(a['p_vs_grpo'], '.3g')} | {seeds} |")
    lines += ["", "p > start, p > grpo: one-sided Fisher exact tests that the arm's success rate is higher (pooled "
              "over its seeds; against the warm start's panel evaluation counted once per seed). With several arms, "
              "correct for multiple comparisons before calling one better.", "",
              f"Loop settings: `{json.dumps(spec['train'], sort_keys=True)}`; arms: "
              f"`{json.dumps(spec['arms'], sort_keys=True)}`.", ""]
    return "\n".join(lines)


def _protocol(spec: dict[str, Any]) -> str:
    """How the panel was played: greedy, or sampled at the grid's evaluation temperature."""
    temperature = float(spec["train"].get("eval_temperature", 0.0))
    return "greedy" if temperature == 0 else f"sampled at T {temperature:g} (seeded per episode)"


def _curves(out: Path, spec: dict[str, Any], arms: list[ArmResult]) -> None:
    """Success and score of the training rollouts vs updates: per arm the mean over seeds, a min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for k, arm in enumerate(arms):
        for ax, metric in zip(axes, ("success_rate", "score_mean"), strict=True):
            series = []
            for r in arm.runs:
                path = out / r["run"] / "metrics.jsonl"
                if path.is_file():
                    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
                    series.append([m.get(f"charts/{metric}", math.nan) for m in lines])
            if not series:
                continue
            width = min(len(s) for s in series)
            rows = [s[:width] for s in series]
            mean = [sum(col) / len(col) for col in zip(*rows, strict=True)]
            ax.plot(range(width), _smooth(mean), color=f"C{k}", label=f"{arm.name} ({len(rows)} seeds)")
            ax.fill_between(range(width), _smooth([min(c) for c in zip(*rows, strict=True)]),
                            _smooth([max(c) for c in zip(*rows, strict=True)]), color=f"C{k}", alpha=.15)
    start = json.loads((out / "summary.json").read_text())["start"]
    for ax, metric, title in zip(axes, ("success_rate", "score_mean"), ("success rate", "score"), strict=True):
        ax.axhline(start[metric], color="grey", linestyle="--", label=f"warm start (panel, {_protocol(spec)})")
        ax.set(title=f"training rollouts: {title} vs updates (smoothed over 3)", xlabel="update", ylabel=title,
               ylim=(-0.03, 1.03))
        ax.grid(alpha=.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=110)
    plt.close(fig)


def _smooth(values: list[float], window: int = 3) -> list[float]:
    return [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1])
            for i in range(len(values))]


def _write_json(path: Path, value: Any) -> None:
    from .rundir import write_atomic

    write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")
