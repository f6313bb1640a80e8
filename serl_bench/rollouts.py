"""The rollout engine: the one place where policies step envs, and the one place where groups are formed.

`play_batch` plays a list of episodes on a few envs in lockstep: at every step each running episode's
agent decides, and the agents that call the same model get one batched ``generate`` (a single env is a
batch of one). One rule for everything around it:

* **seeds** — episode ``i`` resets its env with its own seed; an LLM's sampling at step ``t`` is seeded
  with `step_seed(seed, t)` per episode, so an episode is the same whichever batch it was played in;
* **errors** — an exception from an agent or env ends that episode as a failure with ``error`` set; bad
  input (`SerlBenchError`: a port in use, an endpoint that stopped answering) stops the run instead;
* **truncation** — an episode ends when the env terminates or truncates it, or after ``max_steps``;
  ``truncated`` means it ended unsolved without terminating;
* **trials** — agents with ``trials > 1`` (Reflexion) retry a failed episode with seed
  ``seed + 1_000_003 * trial`` after `Agent.end_trial`.

`GroupPlan` says which episodes form the GRPO groups (G rollouts of each task, and their seeds); the
harness, the trainer, the feedback command and the Gymnasium wrappers all record steps with
`EpisodeRecorder`, so their step records agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym

from .envs import EnvEntry
from .envworkers import DEFAULT_TIMEOUT, EnvRecipe, WorkerLost, start_envs
from .errors import ConfigError, SerlBenchError
from .methods import Agent, AgentStep, GenerationRequest
from .trajectories import Group, StepRecord, Trajectory

TRIAL_SEED_STRIDE = 1_000_003
MAX_ENV_RETRIES = 3  #: times an episode is replayed after losing its env worker before it is failed


def step_seed(seed: int, step: int) -> int:
    """The sampling seed of step ``step`` of the episode seeded ``seed``."""
    return (seed * 10_007 + step) % 2**63


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to play: a task (id, or index into the env's split) and its seed."""

    task_id: str | int
    seed: int


def make_env(entry: EnvEntry, split: str, *, max_steps: int, env_args: dict[str, Any] | None = None,
             progress: bool = True) -> gym.Env:
    """``entry``'s env on ``split``, with a progress bar while it prepares its games."""
    bar = None

    def on_progress(done: int, total: int) -> None:
        nonlocal bar
        if progress and bar is None:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=f"generating {entry.name}/{split} games", unit="game")
        if bar is not None:
            bar.update(done - bar.n)

    entry.check_args(env_args or {})
    try:
        env = entry.make(split=split, max_episode_steps=max_steps, progress=on_progress, **(env_args or {}))
    except TypeError as exc:
        raise ConfigError(f"env {entry.name!r}: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    try:
        check_harness_contract(entry, env)
    except BaseException:
        env.close()
        raise
    return env


def make_envs(entry: EnvEntry, split: str, count: int, *, max_steps: int, env_args: dict[str, Any] | None = None,
              workers: int = 0, timeout: float = DEFAULT_TIMEOUT, ray_address: str | None = None,
              progress: bool = True) -> list[gym.Env]:
    """``count`` envs of ``entry`` on ``split``: in this process, or (``workers`` > 0) spread over that many
    worker processes (`serl_bench.envworkers`). The first env is always built here: it prepares the split's
    games (with a progress bar) and passes the harness contract before any worker starts."""
    envs = [make_env(entry, split, max_steps=max_steps, env_args=env_args, progress=progress)]
    if workers:
        envs[0].close()
        lookup = entry.source.removeprefix("module ") if entry.source.startswith("module ") else entry.name
        return start_envs(EnvRecipe(lookup, split, max_steps, dict(env_args or {})), count, workers, timeout=timeout,
                          ray_address=ray_address)
    try:
        envs += [make_env(entry, split, max_steps=max_steps, env_args=env_args, progress=False)
                 for _ in range(count - 1)]
    except BaseException:
        for env in envs:
            env.close()
        raise
    return envs


_CHECKED: set[tuple[str, str]] = set()  #: (env id, split) of envs not bundled that passed `check_env` here


def check_harness_contract(entry: EnvEntry, env: gym.Env) -> None:
    """Before any episode: the env has the split the harness reads (tasks, source, fingerprint), and an env
    that serl-bench does not ship passes `serl_bench.envs.check_env` (once per process). A one-line
    `ConfigError` otherwise, naming what is missing."""
    from serl_bench.envs import Split, check_env
    from serl_bench.envs._contract import EnvContractError

    split = getattr(env.unwrapped, "split", None)
    where = f"env {entry.name!r}" + ("" if entry.bundled else f" ({entry.source})")
    if not isinstance(split, Split):
        raise ConfigError(f"{where} has no split: set self.split to a serl_bench.envs.Split (its tasks, source and "
                          "fingerprint go into every record) in __init__; see docs/environments.md, 'Your own env'")
    if not split.tasks:
        raise ConfigError(f"{where}: split {split.name!r} has no tasks")
    if not isinstance(getattr(env.unwrapped, "task_ids", None), list):
        raise ConfigError(f"{where} has no task_ids list: subclass serl_bench.envs.TextEnv, which derives it from "
                          "the split")
    key = (entry.id, split.name)
    if entry.bundled or key in _CHECKED:
        return
    try:
        check_env(env)
    except EnvContractError as exc:
        raise ConfigError(f"{where} breaks the env contract: {str(exc)[:600]}; see docs/environments.md") from None
    _CHECKED.add(key)


class EpisodeRecorder:
    """One episode's bookkeeping: what reset and each step returned, as a `Trajectory`."""

    def __init__(self, task_id: str | int, seed: int, policy: str | None = None) -> None:
        self.task_id, self.seed, self.policy = task_id, seed, policy
        self.steps: list[StepRecord] = []
        self.obs, self.info = "", {}
        self.first: dict = {}
        self.terminated = self.done = False
        self.error: str | None = None

    def start(self, obs: str, info: dict) -> None:
        self.obs, self.info, self.first = obs, info, info

    def record(self, decision: AgentStep, obs: str, reward: float, terminated: bool, truncated: bool, info: dict,
               *, max_steps: int | None = None) -> bool:
        """Add one step; whether the episode is over."""
        over = bool(terminated or truncated) or (max_steps is not None and len(self.steps) + 1 >= max_steps)
        self.steps.append(step_record(len(self.steps), self.obs, self.info, decision, obs, reward, over, info))
        self.obs, self.info = obs, info
        self.terminated, self.done = bool(terminated), over
        return over

    def fail(self, exc: BaseException) -> None:
        self.error, self.done = f"{type(exc).__name__}: {exc}", True

    def trajectory(self) -> Trajectory:
        first, last = self.first, self.info
        won = bool(last.get("won")) and self.error is None
        return Trajectory(task_id=str(first.get("task_id", self.task_id)), task=str(first.get("task", "")),
                          task_type=first.get("task_type"), seed=self.seed, steps=tuple(self.steps), won=won,
                          score=float(last.get("score") or 0.0) if self.error is None else 0.0,
                          truncated=not self.terminated and not won and self.error is None, error=self.error,
                          policy=self.policy)


def step_record(index: int, obs: str, info: dict, decision: AgentStep, next_obs: str, reward: float, done: bool,
                next_info: dict) -> StepRecord:
    """The record of one step; an invalid response's feedback says why before what the env answered."""
    feedback = next_info.get("feedback")
    if decision.error:
        feedback = f"Invalid action: {decision.error}." + (f" {feedback}" if feedback else "")
    return StepRecord(index=index, observation=obs, action=decision.action, next_observation=next_obs,
                      feedback=feedback, anchor=info.get("anchor"), reward=float(reward), done=bool(done),
                      prompt=decision.prompt, response=decision.response, action_span=decision.action_span,
                      parse_error=decision.error, messages=decision.messages, response_token_ids=decision.token_ids,
                      response_logprobs=decision.logprobs, extra=dict(decision.extra))


class _Slot:
    """An env with the episode it is playing now (several trials for agents that retry)."""

    def __init__(self, env: gym.Env, max_steps: int, policy: str | None) -> None:
        self.env, self.max_steps, self.policy = env, max_steps, policy
        self.agent: Agent | None = None
        self.spec: EpisodeSpec | None = None
        self.attempts: list[Trajectory] = []
        self.recorder: EpisodeRecorder | None = None

    def prepare(self, agent: Agent, spec: EpisodeSpec) -> None:
        """Take the episode. An env that resets apart (a `RemoteEnv`) starts its reset now, so that every env
        of a round resets at once; `begin` finishes it."""
        self.agent, self.spec, self.attempts, self.retries = agent, spec, [], 0
        self._sent: str | AgentStep | None = None  #: the reset or step a RemoteEnv is working on
        if hasattr(self.env, "reset_async"):
            try:
                self.env.reset_async(seed=spec.seed, options={"task_id": spec.task_id})
                self._sent = "reset"
            except WorkerLost:
                pass  # `begin` resets it on the restarted worker

    def begin(self) -> None:
        self._trial()

    def _trial(self) -> None:
        seed = self.spec.seed + TRIAL_SEED_STRIDE * len(self.attempts)
        self.recorder = EpisodeRecorder(self.spec.task_id, seed, self.policy)
        self._guard(self._reset, seed)

    def _reset(self, seed: int) -> None:
        sent, self._sent = self._sent, None
        if sent == "reset":
            obs, info = self.env.wait()
        else:
            obs, info = self.env.reset(seed=seed, options={"task_id": self.spec.task_id})
        self.recorder.start(obs, info)
        self.agent.reset(self.env, obs, info, seed=seed)

    @property
    def running(self) -> bool:
        return self.recorder is not None and not self.recorder.done

    def send(self, decision: AgentStep) -> None:
        """Start the step where the env steps apart (a `RemoteEnv`): `play_batch` sends every env of a round its
        action before it waits for the first answer. A no-op for an env in this process."""
        if hasattr(self.env, "step_async"):
            recorder = self.recorder
            self._guard(self.env.step_async, decision.action)
            if self.recorder is recorder and self.running:  # not replayed or failed on the way
                self._sent = decision

    def apply(self, decision: AgentStep) -> None:
        if hasattr(self.env, "step_async") and self._sent is not decision:
            return  # its step was never sent: the episode was replayed from its seed, or it failed
        self._guard(self._step, decision)
        if self.recorder is not None and self.recorder.done:
            self._end_trial()

    def _step(self, decision: AgentStep) -> None:
        sent, self._sent = self._sent, None
        result = self.env.wait() if sent is decision else self.env.step(decision.action)
        self.recorder.record(decision, *result, max_steps=self.max_steps)

    def _end_trial(self) -> None:
        attempt = self._attempt()
        self.attempts.append(attempt)
        self.recorder = None
        if attempt.won or attempt.error or len(self.attempts) >= max(1, int(getattr(self.agent, "trials", 1))):
            return
        try:
            self.agent.end_trial(attempt)
        except SerlBenchError:
            raise
        except Exception as exc:  # no lesson, no next trial: the episode ends with the error
            self.attempts[-1] = replace(attempt, error=f"{type(exc).__name__}: {exc}", won=False, score=0.0)
            return
        self._trial()

    def _attempt(self) -> Trajectory:
        attempt = self.recorder.trajectory()
        return replace(attempt, extra={**attempt.extra, "env_retries": self.retries}) if self.retries else attempt

    def _guard(self, call: Callable, *args: Any) -> None:
        try:
            call(*args)
        except SerlBenchError:
            raise
        except WorkerLost as exc:  # the env's state is gone with its worker: play the trial again from its seed
            self.retries += 1
            if self.retries > MAX_ENV_RETRIES:
                self.fail(RuntimeError(f"{exc}, {self.retries} times in this episode; giving up on it"))
            else:
                self._sent = None
                self._trial()
        except Exception as exc:  # the episode fails; KeyboardInterrupt still stops the run
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        self.recorder.fail(exc)
        self.attempts.append(self._attempt())
        self.recorder = None


def play_batch(envs: Sequence[gym.Env], agents: Sequence[Agent], episodes: Sequence[EpisodeSpec], *, max_steps: int,
               policy: str | None = None, on_done: Callable[[int, tuple[Trajectory, ...]], None] | None = None,
               on_steps: Callable[[int], None] | None = None) -> list[tuple[Trajectory, ...]]:
    """Play ``episodes`` (episode ``i`` by ``agents[i]``), ``len(envs)`` at a time in lockstep.

    Returns each episode's trials (one for most agents; the last is the outcome). ``on_done(i, trials)`` is
    called as each episode finishes, in order of finishing; ``on_steps(n)`` after each lockstep round, with the
    steps it played (a progress bar moves while long episodes run). An agent holds one episode's state, so an
    episode waits while its agent plays another one (``[agent] * n`` on one env plays them in turn).
    """
    if len(agents) != len(episodes):
        raise ConfigError(f"play_batch got {len(agents)} agents for {len(episodes)} episodes")
    if max_steps < 1 or not envs:
        raise ConfigError("play_batch needs at least one env and max_steps >= 1")
    slots = [_Slot(env, max_steps, policy) for env in envs]
    results: list[tuple[Trajectory, ...] | None] = [None] * len(episodes)
    playing: dict[int, int] = {}  # slot -> episode
    queue = list(range(len(episodes)))
    starting: list[int] = []
    while queue or playing:
        for s in range(len(slots)):
            busy = {id(agents[j]) for j in playing.values()}
            ready = next((i for i in queue if id(agents[i]) not in busy), None) if s not in playing else None
            if ready is None:
                continue
            queue.remove(ready)
            slots[s].prepare(agents[ready], episodes[ready])
            playing[s] = ready
            starting.append(s)
        for s in starting:  # (envs in worker processes reset at once: every reset was sent first)
            slots[s].begin()
        starting.clear()
        running = [s for s in playing if slots[s].running]
        decided = [(s, d) for s, d in zip(running, _decide([slots[s] for s in running]), strict=True) if d is not None]
        for s, decision in decided:  # (envs in worker processes step at once: every action is sent first)
            slots[s].send(decision)
        for s, decision in decided:
            slots[s].apply(decision)
        if on_steps is not None and running:
            on_steps(len(running))
        for s in list(playing):
            if not slots[s].running:
                _finish(slots, s, playing, results, on_done)
    return results  # type: ignore[return-value]


def _finish(slots: list[_Slot], s: int, playing: dict[int, int], results: list, on_done: Callable | None) -> None:
    i = playing.pop(s)
    results[i] = tuple(slots[s].attempts)
    if on_done is not None:
        on_done(i, results[i])


def _decide(slots: list[_Slot]) -> list[AgentStep | None]:
    """Every slot's decision: agents that `request` a generation are batched per backend and settings."""
    decisions: list[AgentStep | None] = [None] * len(slots)
    batches: dict[tuple, list[tuple[int, GenerationRequest]]] = {}
    for k, slot in enumerate(slots):
        obs, info = slot.recorder.obs, slot.recorder.info
        try:
            request = slot.agent.request(obs, info)
            if request is None:
                decisions[k] = slot.agent.act(obs, info)
            else:
                batches.setdefault((id(request.backend), request.sampling), []).append((k, request))
        except SerlBenchError:
            raise
        except Exception as exc:
            slot.fail(exc)
    for batch in batches.values():
        backend, sampling = batch[0][1].backend, batch[0][1].sampling
        try:
            generations = backend.generate([list(r.messages) for _, r in batch], sampling,
                                           seeds=[r.seed for _, r in batch])
        except SerlBenchError:
            raise
        except Exception as exc:
            for k, _ in batch:
                slots[k].fail(exc)
            continue
        for (k, request), generation in zip(batch, generations, strict=True):
            slot = slots[k]
            try:
                decisions[k] = slot.agent.respond(slot.recorder.obs, slot.recorder.info, request, generation)
            except SerlBenchError:
                raise
            except Exception as exc:
                slot.fail(exc)
    return decisions


def play(env: gym.Env, agent: Agent, *, task_id: str | int, seed: int, max_steps: int,
         policy: str | None = None) -> Trajectory:
    """Play one episode (the last trial, for agents that retry)."""
    return play_batch([env], [agent], [EpisodeSpec(task_id, seed)], max_steps=max_steps, policy=policy)[0][-1]


@dataclass(frozen=True)
class GroupPlan:
    """G rollouts of each task: rollout ``i`` of group ``k`` is seeded ``seed + 1000 k + i`` (one rule for the
    trainer, the feedback command and the tests)."""

    task_ids: tuple[str | int, ...]
    group_size: int
    seed: int

    def __post_init__(self) -> None:
        if self.group_size < 1 or not self.task_ids:
            raise ConfigError("a group needs at least one rollout, and a plan at least one task")
        if self.group_size > 1000:
            raise ConfigError(f"group_size {self.group_size} is over 1000, which the seed rule allows")

    def episodes(self) -> list[EpisodeSpec]:
        return [EpisodeSpec(task, self.seed + 1000 * k + i) for k, task in enumerate(self.task_ids)
                for i in range(self.group_size)]

    def groups(self, trajectories: Sequence[Trajectory], experts: Sequence[Trajectory | None] | None = None
               ) -> list[Group]:
        """The played episodes (in `episodes` order) as one `Group` per task."""
        g = self.group_size
        return [Group(task_id=trajectories[k * g].task_id, trajectories=tuple(trajectories[k * g:(k + 1) * g]),
                      expert=experts[k] if experts else None) for k in range(len(self.task_ids))]


def collect_groups(envs: Sequence[gym.Env], agents: Sequence[Agent], plan: GroupPlan, *, max_steps: int,
                   policies: Sequence[str] | None = None, expert: Agent | None = None, progress: bool = False
                   ) -> list[Group]:
    """Play ``plan``: rollout ``i`` of every group by ``agents[i % len(agents)]`` (named ``policies[...]``),
    ``len(envs)`` episodes at a time. With ``expert``, each group also holds one expert demonstration."""
    episodes = plan.episodes()
    chosen = [agents[j % plan.group_size % len(agents)] for j in range(len(episodes))]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(episodes), desc=f"rollouts ({plan.group_size} per task)", unit="ep")
    try:
        played = play_batch(envs, chosen, episodes, max_steps=max_steps,
                            on_done=(lambda i, trials: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    trajectories = [trials[-1] for trials in played]
    if policies:
        trajectories = [_named(t, policies[j % plan.group_size % len(policies)]) for j, t in enumerate(trajectories)]
    experts = None
    if expert is not None:
        demos = [EpisodeSpec(task, plan.seed + 1000 * k) for k, task in enumerate(plan.task_ids)]
        experts = [trials[-1] for trials in play_batch(envs[:1], [expert] * len(demos), demos, max_steps=max_steps,
                                                       policy="expert")]
    return plan.groups(trajectories, experts)


def collect_group(env: gym.Env, policies: Sequence[tuple[str, Agent]], *, task_id: str | int, group_size: int,
                  seed: int, max_steps: int, expert: Agent | None = None) -> Group:
    """``group_size`` rollouts of one task on one env; rollout ``i`` is played by ``policies[i % len(policies)]``
    with seed ``seed + i``. With ``expert``, the group also holds one expert demonstration."""
    if not policies:
        raise ConfigError("a group needs at least one policy")
    plan = GroupPlan((task_id,), group_size, seed)
    return collect_groups([env], [a for _, a in policies], plan, max_steps=max_steps,
                          policies=[n for n, _ in policies], expert=expert)[0]


def _named(trajectory: Trajectory, policy: str) -> Trajectory:
    return replace(trajectory, policy=policy)
