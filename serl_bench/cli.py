"""``serl-bench``: a thin command line over the Python API (`serl_bench.harness`, registries).

Bad input gets one line on stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .errors import ConfigError, SerlBenchError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_config_args(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One flag per field of a config dataclass; help text comes from the field's metadata, choices from
    the field's type where it is a closed set (a StrEnum)."""
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        flag, help_ = "--" + f.name.replace("_", "-"), f.metadata.get("help", "")
        kind = _base_type(hints[f.name])
        if kind is dict:
            parser.add_argument(flag.removesuffix("s"), dest=f.name, action="append", default=[],
                                metavar="KEY=VALUE", help=f"{help_} (repeatable; VALUE is read as JSON if it can be)")
            continue
        if kind is bool:
            default = f.default if f.default is not dataclasses.MISSING else False
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{help_} (default: {'on' if default else 'off'})")
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if required else f.default
        extra: dict[str, Any] = {}
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            extra["choices"] = [member.value for member in kind]
            kind = str
        elif kind not in (int, float):
            kind = str
        shown = default.value if isinstance(default, enum.Enum) else default
        parser.add_argument(flag, type=kind, default=shown, **extra,  # required: checked once --config is read
                            help=f"{help_}" + (" (required)" if required else "" if default is None
                                               else f" (default: {shown})"))


def _base_type(hint: Any) -> Any:
    """``int`` for ``int``, ``str`` for ``str | None``, ``dict`` for ``dict[str, Any]``."""
    origin = typing.get_origin(hint)
    if origin is dict:
        return dict
    if origin in (typing.Union, types.UnionType):
        return next(_base_type(a) for a in typing.get_args(hint) if a is not type(None))
    return hint


def _key_values(pairs: list[str], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} takes KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _explicit(args: argparse.Namespace, config_cls: type) -> frozenset[str]:
    """The fields the user set: by a flag on the command line, or in the ``--config`` file."""
    return frozenset(_given(args, config_cls) | set(_file_settings(args, config_cls)))


def _given(args: argparse.Namespace, config_cls: type) -> set[str]:
    """The fields whose flag is on the command line (``--x``, ``--no-x``, ``--x=v``; ``--env-arg`` for env_args)."""
    tokens = {token.split("=", 1)[0] for token in args.argv if token.startswith("--")}
    hints = typing.get_type_hints(config_cls)
    given = set()
    for f in dataclasses.fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        if _base_type(hints[f.name]) is dict:
            flag = flag.removesuffix("s")
        if flag in tokens or "--no-" + flag[2:] in tokens:
            given.add(f.name)
    return given


def _file_settings(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    if getattr(args, "config", None) is None:
        return {}
    if not hasattr(args, "_file"):
        from .configfile import read_config_file

        args._file = read_config_file(args.config, args.command, [f.name for f in dataclasses.fields(config_cls)])
    return args._file


def _config_from(args: argparse.Namespace, config_cls: type) -> Any:
    """The config of the flags, over the ``--config`` file's settings (a flag given wins), over the defaults."""
    hints = typing.get_type_hints(config_cls)
    file, given = _file_settings(args, config_cls), _given(args, config_cls)
    values = {}
    for f in dataclasses.fields(config_cls):
        value, kind = getattr(args, f.name), _base_type(hints[f.name])
        if kind is dict:
            pairs = _key_values(value, "--" + f.name.replace("_", "-").removesuffix("s"))
            value = {**_file_value(args, f.name, kind, file[f.name]), **pairs} if f.name in file else pairs
        elif f.name in file and f.name not in given:
            value = _file_value(args, f.name, kind, file[f.name])
        elif isinstance(kind, type) and issubclass(kind, enum.Enum) and value is not None:
            value = kind(value)
        if value is None and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"--{f.name.replace('_', '-')} is required (a flag, or a setting of --config FILE)")
        values[f.name] = value
    return config_cls(**values)


def _file_value(args: argparse.Namespace, name: str, kind: Any, value: Any) -> Any:
    """A setting of the ``--config`` file, checked against the field's type (one line naming it if wrong)."""
    where = f"--config {args.config}: {name}"
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        if value not in kind._value2member_map_:
            raise ConfigError(f"{where} must be one of {', '.join(m.value for m in kind)}, got {value!r}")
        return kind(value)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    wanted = {dict: isinstance(value, dict), bool: isinstance(value, bool), int: number and float(value).is_integer(),
              float: number, str: isinstance(value, str)}.get(kind, True)
    if not wanted and not (value is None and kind is str):
        raise ConfigError(f"{where} must be {_KIND_NAMES.get(kind, kind)}, got {value!r}")
    return int(value) if kind is int else value


_KIND_NAMES = {dict: "a table of KEY = VALUE", bool: "true or false", int: "a whole number", float: "a number",
               str: "text"}


def _cmd_eval(args: argparse.Namespace) -> int:
    from .harness import EvalConfig, evaluate

    run = evaluate(_config_from(args, EvalConfig), out=args.out, resume=args.resume, progress=not args.no_progress)
    _print_record(run.record)
    print(f"run directory: {run.path}")
    return 0


def _print_record(r: Any) -> None:
    lo, hi = r.success_ci95
    print(f"{r.method} on {r.env}/{r.split} ({r.split_source}): {r.episodes} episodes"
          + (f", {r.errors} ended in errors" if r.errors else ""))
    print(f"  success {100 * r.success_rate:5.1f} %  [95 % CI {100 * lo:.1f}-{100 * hi:.1f}]"
          f"  score {r.score_mean:.3f}  mean steps {r.mean_steps:.1f}")
    for task_type, s in r.per_task_type.items():
        print(f"  {task_type:<34} {s.episodes:>4} ep  success {100 * s.success_rate:5.1f} %"
              f"  score {s.score_mean:.3f}")


def _cmd_run(args: argparse.Namespace) -> int:
    from .training import TrainConfig, train

    result = train(_config_from(args, TrainConfig), out=args.out, resume=args.resume, progress=not args.no_progress,
                   explicit=_explicit(args, TrainConfig))
    if result.record is None:  # a rank other than 0 of a torchrun launch: rank 0 reports
        return 0
    _print_record(result.record)
    t = result.record.training
    print(f"trained {t.updates} updates, {t.rollouts} rollouts, {t.tokens} response tokens in "
          f"{t.wall_clock_s:.0f} s on {t.device}")
    if (result.path / "start" / "results.json").is_file():
        _print_before_after(result.path / "start", result.record)
    print(f"run directory: {result.path}")
    return 0


def _print_before_after(start_dir: Path, after: Any) -> None:
    """Success and score before and after training on the same panel, and whether the change is significant."""
    from .compare import fisher_greater
    from .leaderboard import validate

    before = validate(start_dir)
    wins = [round(r.success_rate * r.episodes) for r in (before, after)]
    p = fisher_greater(wins[1], after.episodes, wins[0], before.episodes)
    for label, r in (("before", before), ("after", after)):
        lo, hi = r.success_ci95
        print(f"  {label:<6} success {100 * r.success_rate:5.1f} % [95 % CI {100 * lo:.1f}-{100 * hi:.1f}]  "
              f"score {r.score_mean:.3f}  ({r.episodes} episodes)")
    verdict = "a significant improvement" if p < 0.05 else "not a significant improvement at this budget"
    print(f"  one-sided Fisher exact p = {p:.3g}: {verdict} (the measured comparison of methods: "
          "`serl-bench experiment`, docs/experiments.md)")


def _cmd_experiment(args: argparse.Namespace) -> int:
    from .experiment import ExperimentConfig, run_experiment, summarize_experiment

    if args.summarize:
        print(f"summary: {summarize_experiment(args.out)}")
        return 0
    path = run_experiment(_config_from(args, ExperimentConfig), out=args.out, progress=not args.no_progress,
                          dry_run=args.dry_run)
    if not args.dry_run:
        print(Path(path).read_text(), end="")
        print(f"summary: {path}; learning curves: {Path(path).with_name('curves.png')}")
    return 0


def _cmd_envs(args: argparse.Namespace) -> int:
    from .envs import list_envs
    from .feedback import Granularity, Source

    if args.json:
        print(json.dumps([dataclasses.asdict(e) for e in list_envs()], indent=2))
        return 0
    for e in list_envs():
        print(f"{e.name}  ({e.id})  {e.description}" + ("" if e.bundled else f"  [{e.source}]"))
        splits = ", ".join(f"{name} [{source}]" for name, source in e.splits.items())
        print(f"  splits: {splits}; default {e.default_split}")
        print(f"  task types: {', '.join(e.task_types)}")
        print(f"  feedback{'':<18}" + "".join(f"{g.value:>8}" for g in Granularity)
              + ("   (expert demonstrations available)" if e.expert else ""))
        for source in Source:
            fed = source.value in e.feedback_sources
            marks = [fed, fed and e.anchors]
            print(f"    {source.value:<24}" + "".join(f"{'yes' if m else '-':>8}" for m in marks))
    return 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    import time

    from .feedback import FeedbackRunConfig, collect_feedback

    config = _config_from(args, FeedbackRunConfig)
    out = args.out or f"runs/feedback-{config.env}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    run = collect_feedback(config, out=out, progress=not args.no_progress)
    s = run.summary()
    print(f"{s['groups']} groups x {config.group_size} rollouts of {config.env} ({config.policy}): "
          f"success {100 * s['success_rate']:.1f} %, {s['steps']} steps")
    print(f"feedback {config.feedback} at {config.granularity} granularity: {s['steps_with_context']} steps got a "
          f"context ({s['distinct_contexts']} distinct), built in {1000 * s['seconds_building']:.1f} ms; "
          f"sources used: {', '.join(f'{k} {v}' for k, v in s['source_usage'].items()) or 'none'}")
    if s["judge"] is not None:
        j = s["judge"]
        print(f"judge: {j['condensed']} of {j['trajectories']} trajectories condensed, {j['failures']} failed (their "
              f"raw trajectory used), {j['requests']} requests")
        if j["failures"]:
            print(f"warning: the judge failed {j['failures']} of {j['trajectories']} trajectories: the "
                  "current_trajectory contexts counted above hold those trajectories raw, not condensed (see "
                  "--judge-timeout)", file=sys.stderr)
    print(f"contexts: {run.out}")
    return 0


def _cmd_methods(args: argparse.Namespace) -> int:
    from .methods import list_methods

    specs = list_methods()
    rows = [{"name": s.name, "kind": s.kind, "source": s.source, "summary": s.summary, "arguments": s.arguments()}
            for s in specs]
    if args.json:
        print(json.dumps(rows, indent=2, default=repr))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['kind']:<13} {r['summary']}  [{r['source']}]")
    return 0


def _cmd_leaderboard_validate(args: argparse.Namespace) -> int:
    from .leaderboard import validate

    record = validate(args.path)
    print(f"valid: {record.method} on {record.env}/{record.split}, {record.episodes} episodes, "
          f"schema version {record.schema_version}")
    return 0


def _cmd_leaderboard_submit(args: argparse.Namespace) -> int:
    from .leaderboard import render, submit

    path = submit(args.run_dir, args.board, replay=not args.no_replay)
    if args.no_replay:
        print(f"accepted UNVERIFIED (--no-replay): figures match the episode log, episodes not replayed; wrote {path}")
    else:
        print(f"accepted: figures match the episode log, every episode replayed to its logged outcome; wrote {path}")
    if not args.no_render:
        readme, page = render(args.board)
        print(f"rendered {readme} and {page}")
    return 0


def _cmd_leaderboard_render(args: argparse.Namespace) -> int:
    from .leaderboard import SUBMISSIONS, render

    readme, page = render(args.board)  # validated every submission; counting them needs no second pass
    count = sum(1 for _ in (Path(args.board) / SUBMISSIONS).glob("*.json"))
    print(f"{count} submissions: wrote {readme} and {page}")
    return 0


def _cmd_leaderboard_schema(args: argparse.Namespace) -> int:
    from .results import ResultsRecord

    text = json.dumps(ResultsRecord.json_schema(), indent=2, sort_keys=True) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    else:
        print(text, end="")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import as_json, load_runs, plot, table

    runs = load_runs(args.runs)
    if args.json:
        print(json.dumps(as_json(runs), indent=2))
    else:
        print(table(runs))
    if args.plot:
        print(f"plot: {plot(runs, args.plot)}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .show import as_text, listing, load, select, write_html

    lines = load(args.run, train=args.train)
    if args.html:
        kind = "training rollouts" if args.train else "evaluation episodes"
        print(f"page: {write_html(lines, args.html, title=f'{args.run}: {kind}')}")
    elif args.list:
        print(listing(lines))
    else:
        print(as_text(select(lines, episode=args.episode, update=args.update, rollout=args.rollout),
                      prompts=args.prompts))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .experiment import ExperimentConfig
    from .feedback import FeedbackRunConfig
    from .harness import EvalConfig
    from .training import TrainConfig

    parser = _Parser(prog="serl-bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--version", action="version", version=f"serl-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("eval", help="evaluate a method on an environment and write a run directory")
    _add_config_args(p, EvalConfig)
    p.add_argument("--config", metavar="FILE", help="settings from a TOML, YAML or JSON file, by field name (a run's "
                   "config.json runs it again); flags given on the command line win")
    p.add_argument("--out", help="run directory (default: runs/<method>-<env>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out, skipping finished episodes")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_eval)

    p = sub.add_parser("run", help="train a method (grpo, gigpo, rloo, ppo, sft, rft, opd, serl) and evaluate it")
    _add_config_args(p, TrainConfig)
    p.add_argument("--config", metavar="FILE", help="settings from a TOML, YAML or JSON file, by field name (a run's "
                   "config.json runs it again); flags given on the command line win")
    p.add_argument("--out", help="run directory (default: runs/<method>-<env>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("experiment", help="a grid of training runs (arms x seeds) from one warm start, on one panel, "
                                          "with a table of success, p-values and learning curves")
    _add_config_args(p, ExperimentConfig)
    p.add_argument("--config", metavar="FILE", help="settings from a TOML, YAML or JSON file, by field name (a run's "
                   "config.json runs it again); flags given on the command line win")
    p.add_argument("--out", required=True, help="experiment directory (one run directory per arm and seed)")
    p.add_argument("--dry-run", action="store_true", help="check the grid and print its estimated cost; run nothing")
    p.add_argument("--summarize", action="store_true", help="only (re)write the summary of the runs in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_experiment)

    p = sub.add_parser("feedback", help="collect groups with a policy and write every step's hindsight context")
    _add_config_args(p, FeedbackRunConfig)
    p.add_argument("--out", help="JSONL file of contexts (default: runs/feedback-<env>-<time>.jsonl)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_cmd_feedback)

    p = sub.add_parser("envs", help="list environments, their splits, task types and feedback support")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_envs)

    p = sub.add_parser("methods", help="list registered methods")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_methods)

    p = sub.add_parser("compare", help="compare runs: figures with intervals, significance, per task type, plots")
    p.add_argument("runs", nargs="+", metavar="DIR", help="run directories; p-values are against the first")
    p.add_argument("--plot", metavar="FILE", help="write learning curves and a bar chart with error bars (PNG)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser("show", help="print a run's episode step by step (prompt, response, action, feedback), or "
                                    "write all of them as a page")
    p.add_argument("run", metavar="DIR", help="a run directory")
    p.add_argument("--episode", type=int, help="evaluation episode (default: the first failed one)")
    p.add_argument("--list", action="store_true", help="one line per episode")
    p.add_argument("--prompts", action="store_true", help="also print each prompt's last turn")
    p.add_argument("--train", action="store_true", help="training rollouts (train-transcripts.jsonl) instead")
    p.add_argument("--update", type=int, help="with --train: the update (default: the last logged)")
    p.add_argument("--rollout", type=int, default=0, help="with --train: the rollout of the logged group")
    p.add_argument("--html", metavar="FILE", help="write every episode as one static HTML page")
    p.set_defaults(handler=_cmd_show)

    p = sub.add_parser("leaderboard", help="validate, submit and render leaderboard records")
    sub_board = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = sub_board.add_parser("validate", help="check a results.json (or a run directory's) against the schema")
    q.add_argument("path", metavar="PATH")
    q.set_defaults(handler=_cmd_leaderboard_validate)
    q = sub_board.add_parser("submit", help="recompute a run's figures from its episode log and add it to the board")
    q.add_argument("run_dir", metavar="DIR")
    q.add_argument("--board", default="leaderboard", help="leaderboard folder (default: ./leaderboard)")
    q.add_argument("--no-render", action="store_true", help="do not re-render the board afterwards")
    q.add_argument("--no-replay", action="store_true", help="do not replay the episodes on the env (for runs whose "
                   "env cannot be rebuilt here): the row is marked unverified")
    q.set_defaults(handler=_cmd_leaderboard_submit)
    q = sub_board.add_parser("render", help="write the board's README.md and index.html from its submissions")
    q.add_argument("--board", default="leaderboard", help="leaderboard folder (default: ./leaderboard)")
    q.set_defaults(handler=_cmd_leaderboard_render)
    q = sub_board.add_parser("schema", help="print the results record's JSON Schema")
    q.add_argument("--out", metavar="FILE", help="write it to FILE instead")
    q.set_defaults(handler=_cmd_leaderboard_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.handler(args)
    except SerlBenchError as exc:
        for line in str(exc).splitlines() or [""]:  # one line per problem
            print(f"serl-bench: error: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and friends
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("serl-bench: interrupted; finished episodes are kept (continue with --resume --out DIR)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
