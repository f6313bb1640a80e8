"""Replay: every episode of a submitted run played again, action by action, on the env of its record.

The envs are deterministic: the same task, seed and actions give the same observations, rewards and
outcome. So ``leaderboard submit`` rebuilds the env the run was evaluated on (same env, split and env
arguments, checked by the split's fingerprint), resets it as the harness did (episode ``i``: task ``i mod
len(split)``, seed ``seed + i``; trial ``t`` of an agent that retries: seed ``+ 1_000_003 t``), plays the
logged actions, and compares what they give (won, score, total reward, steps, truncation, task type) with
what the log claims. A log rewritten to "won" everywhere, with its figures recomputed, fails here.

The episodes are played by the rollout engine (`serl_bench.rollouts.play_batch`, the one loop that steps
envs), with an `Agent` that emits the logged actions in order: replay applies the very rules (trials, seeds,
truncation, errors) the run was played by. A log with actions left over when the engine ends the episode,
or too few for it, does not replay.

Large runs are replayed by several worker processes (``python -m serl_bench.leaderboard._replay``, fed
JSON, answering JSON: nothing is pickled), each on its own env; small ones in this process (a worker costs
a second or two to start). Replay needs only the envs, never the agent or its model.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from serl_bench.errors import SerlBenchError
from serl_bench.harness import EpisodeRecord, episode_record
from serl_bench.methods import Agent, AgentStep
from serl_bench.results import AnyRecord
from serl_bench.rollouts import TRIAL_SEED_STRIDE, EpisodeSpec, play_batch

from ._safejson import SubmissionError

__all__ = ["TRIAL_SEED_STRIDE", "ReplayReport", "ReplayTarget", "replay", "replay_target"]

POOL_STEPS = 4_000  #: runs with fewer logged steps are replayed in this process
STEPS_PER_WORKER = 2_000  #: at least this many steps for each extra process
#: Env arguments that change how an env is driven, never what it does: replay runs text mode on a free port.
DRIVING_ARGS = frozenset({"mode", "port", "chromium", "chromedriver", "render_mode", "progress", "timeout"})
NO_REPLAY_HINT = "submit with --no-replay to add it marked unverified"


@dataclass(frozen=True)
class ReplayTarget:
    """The env a run's episodes were played on, and the protocol that picked their tasks and seeds."""

    env: str
    split: str
    env_args: dict[str, Any]
    max_steps: int
    seed: int  #: base seed: episode i is seeded seed + i
    fingerprint: str  #: the record's split fingerprint: the rebuilt env must have the same


@dataclass(frozen=True)
class ReplayReport:
    episodes: int
    steps: int
    seconds: float
    workers: int  #: processes that replayed (1: this one)


@dataclass
class _ChunkResult:
    problem: str | None = None  #: the env could not be rebuilt or is not the record's
    difference: tuple[int, str] | None = None  #: the first episode of the chunk that differs, and how
    steps: int = 0


def replay_target(record: AnyRecord, config: Any, where: str) -> ReplayTarget:
    """Where and how ``record``'s episodes were played, from its (hash-checked) ``config.json``."""
    if not isinstance(config, dict):
        raise SubmissionError(f"{where}: config.json is not an object; cannot replay the run ({NO_REPLAY_HINT})")
    command = config.get("command")
    if command == "eval":
        env_args, max_steps = config.get("env_args"), config.get("max_steps")
    elif command == "run":
        env_args = {**(config.get("env_args") or {}), **(config.get("eval_env_args") or {})}
        max_steps = config.get("max_steps")
    else:
        raise SubmissionError(f"{where}: config.json does not say how the episodes were played (command "
                              f"{command!r:.40}); cannot replay the run ({NO_REPLAY_HINT})")
    if not isinstance(env_args, dict) or type(max_steps) is not int or max_steps < 1:
        raise SubmissionError(f"{where}: config.json has no usable env_args or max_steps; cannot replay the run "
                              f"({NO_REPLAY_HINT})")
    protocol = getattr(record, "protocol", None)
    if protocol is not None and protocol.max_steps != max_steps:
        raise SubmissionError(f"{where}: the record says episodes of {protocol.max_steps} steps, config.json "
                              f"{max_steps}; the run cannot be replayed as recorded")
    if record.split_fingerprint is None:
        raise SubmissionError(f"{where}: the record has no split_fingerprint, so the tasks it ran cannot be "
                              f"rebuilt for certain ({NO_REPLAY_HINT})")
    if len(record.seeds) != 1:
        raise SubmissionError(f"{where}: the record has {len(record.seeds)} base seeds; replay needs the one its "
                              f"episodes were seeded from ({NO_REPLAY_HINT})")
    return ReplayTarget(env=record.env, split=record.split,
                        env_args={k: v for k, v in env_args.items() if k not in DRIVING_ARGS},
                        max_steps=max_steps, seed=record.seeds[0], fingerprint=record.split_fingerprint)


def replay(target: ReplayTarget, episodes: Sequence[EpisodeRecord], where: str, *,
           workers: int | None = None) -> ReplayReport:
    """Replay ``episodes`` (in episode order) on ``target``'s env; a `SubmissionError` naming the first one
    whose outcome differs from its log line, or saying why the env cannot be rebuilt here."""
    start = time.perf_counter()
    episodes = sorted(episodes, key=lambda e: e.episode)
    steps = sum(len(e.actions) for e in episodes)
    try:  # here first: a missing data set or another split is one line, before any pool starts
        env = _build(target)
    except _Unreplayable as exc:
        raise SubmissionError(f"{where}: {exc}") from None
    try:
        if workers is None:
            workers = min(os.cpu_count() or 1, 1 + steps // STEPS_PER_WORKER) if steps >= POOL_STEPS else 1
        workers = max(1, min(workers, len(episodes)))
        if workers == 1:
            results = [_replay_chunk(target, list(episodes), env=env)]
    finally:
        env.close()
    if workers > 1:
        results = _in_workers(target, _chunks(episodes, workers), where)
    for result in results:
        if result.problem:
            raise SubmissionError(f"{where}: {result.problem}")
    differences = [r.difference for r in results if r.difference is not None]
    if differences:
        number, how = min(differences)
        raise SubmissionError(f"{where}: episode {number} does not replay: {how}; the episode log is not what "
                              "its actions give (every episode is replayed on submission)")
    return ReplayReport(episodes=len(episodes), steps=steps, seconds=time.perf_counter() - start, workers=workers)


def _in_workers(target: ReplayTarget, chunks: list[list[EpisodeRecord]], where: str) -> list[_ChunkResult]:
    """Each chunk replayed by its own worker process, all at once."""
    with tempfile.TemporaryDirectory(prefix="serl-bench-replay-") as folder:
        workers = []
        try:
            for i, chunk in enumerate(chunks):
                job = Path(folder) / f"chunk-{i}.json"
                job.write_text(json.dumps({"target": asdict(target), "episodes": [asdict(e) for e in chunk]}))
                workers.append(subprocess.Popen([sys.executable, "-m", "serl_bench.leaderboard._replay", str(job)],
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            results = []
            for worker in workers:
                out, err = worker.communicate()
                try:
                    answer = json.loads(out)
                    difference = tuple(answer["difference"]) if answer["difference"] else None
                    results.append(_ChunkResult(problem=answer["problem"], steps=answer["steps"],
                                                difference=difference))
                except (ValueError, KeyError, TypeError):
                    last = (err.strip().splitlines() or ["no output"])[-1][:200]
                    raise SubmissionError(f"{where}: a replay worker failed (exit {worker.returncode}: "
                                          f"{last})") from None
            return results
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()


def _chunks(episodes: list[EpisodeRecord], n: int) -> list[list[EpisodeRecord]]:
    """``episodes`` cut into ``n`` chunks with about as many steps each, in task order (few game loads)."""
    total = sum(len(e.actions) + 1 for e in episodes)
    chunks: list[list[EpisodeRecord]] = [[]]
    done = 0
    for e in sorted(episodes, key=lambda e: (e.task_id, e.episode)):
        if len(chunks) < n and chunks[-1] and done >= total * len(chunks) / n:
            chunks.append([])
        chunks[-1].append(e)
        done += len(e.actions) + 1
    return chunks


class _Unreplayable(Exception):
    """The env of a run cannot be rebuilt here, or is not the one the run played."""


def _build(target: ReplayTarget):
    from serl_bench.envs import env_entry

    try:
        env = env_entry(target.env).make(split=target.split, max_episode_steps=target.max_steps, **target.env_args)
    except SerlBenchError as exc:
        raise _Unreplayable(f"cannot rebuild the env of this run here ({' '.join(str(exc).split())[:300]}); "
                            f"{NO_REPLAY_HINT}") from None
    except Exception as exc:  # e.g. an env argument this serl-bench does not know
        raise _Unreplayable(f"cannot rebuild the env of this run here ({type(exc).__name__}: "
                            f"{' '.join(str(exc).split())[:200]}); {NO_REPLAY_HINT}") from None
    fingerprint = env.unwrapped.split.fingerprint
    if fingerprint != target.fingerprint:
        env.close()
        raise _Unreplayable(f"the env rebuilt here is not the record's: split fingerprint {fingerprint[:12]}… here, "
                            f"{target.fingerprint[:12]}… in the record (other tasks: another catalog or game set, "
                            f"or other env arguments); {NO_REPLAY_HINT}")
    return env


def _replay_chunk(target: ReplayTarget, episodes: list[EpisodeRecord], env=None) -> _ChunkResult:
    """Replay episodes on one env (built here when not given: in a worker process), grouped by task so that
    an env that keeps its last game loaded loads each game once; the chunk's lowest differing episode."""
    result = _ChunkResult()
    own = env is None
    if own:
        try:
            env = _build(target)
        except _Unreplayable as exc:
            result.problem = str(exc)
            return result
    try:
        task_ids = list(env.unwrapped.task_ids)
        for e in sorted(episodes, key=lambda e: (e.task_id, e.episode)):
            if result.difference is not None and e.episode > result.difference[0]:
                continue  # a lower episode of this chunk already differs
            expected_task, expected_seed = task_ids[e.episode % len(task_ids)], target.seed + e.episode
            if (e.task_id, e.seed) != (str(expected_task), expected_seed):
                how = (f"the log says task {e.task_id!r:.40} with seed {e.seed}, but the protocol plays task "
                       f"{expected_task!r:.40} with seed {expected_seed}")
            else:
                how = _replay_episode(env, e, target.max_steps)
                result.steps += len(e.actions)
            if how is not None:
                result.difference = (e.episode, how)
    finally:
        if own:
            env.close()
    return result


class _OutOfActions(Exception):
    """The engine asked a `_LoggedActions` for an action after the last logged one."""


class _LoggedActions(Agent):
    """A scripted policy for the rollout engine: one episode's logged actions, in order, across its trials.

    It plays as many trials as the log says (the engine stops earlier on a win or an error), and raises
    `_OutOfActions` (which ends the episode as an error) when the engine wants more actions than were logged."""

    def __init__(self, actions: Sequence[str], trials: int) -> None:
        self.actions, self.trials = actions, trials
        self.given = 0  #: actions handed to the engine so far
        self.ran_out = False

    def act(self, observation: str, info: Mapping[str, Any]) -> AgentStep:
        if self.given >= len(self.actions):
            self.ran_out = True
            raise _OutOfActions(f"all {len(self.actions)} logged actions are played")
        self.given += 1
        return AgentStep(self.actions[self.given - 1])


def _replay_episode(env, e: EpisodeRecord, max_steps: int) -> str | None:
    """How the replayed outcome of ``e`` differs from its log line (None: it does not). The episode is played
    by the rollout engine (`play_batch`, the harness's own rules for seeds, trials and truncation) with the
    logged actions as its policy, and summarized as the harness summarizes it (`episode_record`)."""
    spec, agent, n = EpisodeSpec(e.task_id, e.seed), _LoggedActions(e.actions, e.trials), len(e.actions)
    try:
        attempts = play_batch([env], [agent], [spec], max_steps=max_steps)[0]
    except SerlBenchError as exc:  # in a run, bad input that stops it; here, this episode's actions do not replay
        return f"the env raised {type(exc).__name__} after {agent.given} of its actions"
    last, k = attempts[-1], sum(t.length for t in attempts)
    if last.error is not None:
        if agent.ran_out and e.error is None:
            return f"its {n} actions end before the episode does (trial {len(attempts)} of {e.trials} still running)"
        if not agent.ran_out and (e.error is None or k < n):  # the env raised where the logged run did not stop
            return f"the env raised {last.error.split(':', 1)[0]} at step {k + 1} of its actions"
    elif len(attempts) < e.trials:  # the engine retries until a trial is won
        return f"trial {len(attempts)} is won, yet the log goes on to another trial"
    elif k < n:
        return f"the episode ends after {k} of its {n} actions"
    elif e.error is not None:  # the run's agent failed after its last trial, as the engine records it
        last = replace(last, error=e.error, won=False, score=0.0)
    replayed = episode_record(e.episode, spec, (*attempts[:-1], last))
    claimed = (e.won, e.score, e.total_reward, e.steps, e.truncated, e.task_type)
    again = (replayed.won, replayed.score, replayed.total_reward, replayed.steps, replayed.truncated,
             replayed.task_type)
    if all(_same(a, b) for a, b in zip(claimed, again, strict=True)):
        return None
    return f"the log says {_outcome(*claimed)}; its actions give {_outcome(*again)}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _outcome(won: bool, score: float, reward: float, steps: int, truncated: bool, task_type: Any) -> str:
    return (f"won {str(won).lower()}, score {score:.3f}, reward {reward:.3f}, {steps} steps"
            f"{', truncated' if truncated else ''}, task type {task_type}")


def _main(job: str) -> None:
    """A replay worker: the chunk described in the JSON file ``job``; its `_ChunkResult` as JSON on stdout."""
    from pydantic import TypeAdapter

    data = json.loads(Path(job).read_text())
    adapter = TypeAdapter(EpisodeRecord)
    result = _replay_chunk(ReplayTarget(**data["target"]), [adapter.validate_python(e) for e in data["episodes"]])
    print(json.dumps({"problem": result.problem, "difference": result.difference, "steps": result.steps}))


if __name__ == "__main__":
    _main(sys.argv[1])
