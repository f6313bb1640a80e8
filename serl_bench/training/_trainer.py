"""The `Trainer`: the policy, its envs and agents, and what one update does with them.

Each update: the method's per-update state -> tasks drawn from the training split -> G rollouts per task
(the rollout engine, all envs in lockstep, one batched generation per step) -> advantages (method hook)
-> hindsight contexts (feedback engine, for methods that use feedback) -> the learner's update ->
``metrics.jsonl``. Checkpoints hold plain tensors and JSON-able values only (``state.pt`` is read back with
``weights_only=True``). The final evaluation goes through the harness's own evaluation path.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

from serl_bench.agents import ACTION_STOP, LLMAgent
from serl_bench.envs import EnvEntry, env_entry
from serl_bench.errors import ConfigError, RunDirError
from serl_bench.feedback import FeedbackSpec, build_contexts
from serl_bench.harness import eval_episodes, play_into
from serl_bench.models import (
    PROVENANCE_FILE,
    HFBackend,
    ModelRef,
    SamplingParams,
    load_hf,
    model_origin,
    pick_dtype,
    resolve_model,
)
from serl_bench.results import config_hash
from serl_bench.rollouts import GroupPlan, make_envs, play_batch
from serl_bench.rundir import RunDir
from serl_bench.trajectories import Batch, Trajectory
from serl_bench.warmstart import prompt_mismatch

from ._config import RolloutBackend, TrainConfig, resolve_device
from ._distributed import Ranks, gather
from ._learner import Learner
from ._method import TrainingMethod
from ._samples import build_samples


def update_seed(seed: int, update: int) -> int:
    """The base seed of update ``update``'s groups (their rollouts add ``1000 k + i``, see `GroupPlan`)."""
    return (seed * 1_000_003 + update) * 100_000


class Trainer:
    """Owns the policy, its optimizer, the envs and the run directory of one training run."""

    def __init__(self, config: TrainConfig, method: TrainingMethod, run: RunDir, *, progress: bool = True,
                 ranks: Ranks | None = None) -> None:
        config.check()  # the Python API gets the CLI's one-line errors, before a model is loaded
        self.ranks = ranks or Ranks()
        self.config, self.method, self.run = config, method, run
        self.progress = progress and self.ranks.main
        torch.manual_seed(config.seed)
        self.ref: ModelRef = resolve_model(config.model)
        if self.ref.kind == "endpoint":
            raise ConfigError("training needs the model's weights: --model must be a model, not an endpoint")
        device = resolve_device(config.device)
        dtype = config.dtype if config.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
        if device == "cuda" and self.ranks.distributed:
            device = f"cuda:{self.ranks.local_rank}"  # one GPU per rank
        self.model, self.tokenizer, self.device = load_hf(self.ref, dtype=dtype, device=device)
        self.start_origin = model_origin(self.ref)
        if (mismatch := prompt_mismatch(self.start_origin, prompt=config.prompt, history=config.history)):
            print(f"serl-bench: warning: {mismatch}", file=sys.stderr)
        self.learner = Learner(config, method, self.model, compute_dtype=pick_dtype("auto", self.device),
                               ranks=self.ranks)
        self.backend = self._rollout_backend()
        self.spec = FeedbackSpec.parse(config.feedback, config.granularity, **config.feedback_args) \
            if method.uses_feedback else None
        self.entry: EnvEntry = env_entry(config.env)
        self.split = config.split or self.entry.train_split
        self.eval_split = config.eval_split or self.entry.default_split
        # Training envs allow the env's own episode length (SFT's demonstrations are not cut at --max-steps);
        # the rollout engine stops the policy's episodes at --max-steps.
        self.envs = self._envs(self.split, config.env_args, config.tasks_per_update * config.group_size,
                               max(config.max_steps, self.entry.max_steps))
        self.agents = [self._agent(config.temperature) for _ in self.envs]
        self.task_rng = random.Random(config.seed)
        self.totals = {"rollouts": 0, "tokens": 0, "wall_clock_s": 0.0}  #: wall clock of the segments before this
        self.saved_update: int | None = None  #: the update of checkpoints/last, once there is one
        self.segment_started = time.time()  #: when this process's segment of the run began
        self._eval_envs: list[Any] = []

    # ------------------------------------------------------------------------------------------- setup

    def _rollout_backend(self) -> Any:
        if self.config.backend == RolloutBackend.HF:
            return HFBackend.wrap(self.model, self.tokenizer, self.ref)
        from serl_bench.models import VLLMBackend

        backend = VLLMBackend(self.ref)
        backend.update_weights(self.model.named_parameters())
        return backend

    def _envs(self, split: str, env_args: dict[str, Any], count: int, max_steps: int | None = None) -> list[Any]:
        c = self.config
        return make_envs(self.entry, split, count, max_steps=max_steps or c.max_steps, env_args=env_args,
                         workers=c.env_workers, timeout=c.env_timeout, ray_address=c.ray_address,
                         progress=self.progress)

    def _agent(self, temperature: float) -> LLMAgent:
        c = self.config
        return LLMAgent(self.backend, history=c.history, prompt=c.prompt,
                        sampling=SamplingParams(temperature=temperature, max_new_tokens=c.max_new_tokens,
                                                stop=ACTION_STOP))

    @property
    def eval_envs(self) -> list[Any]:
        if not self._eval_envs:
            c = self.config
            args = {**c.env_args, **c.eval_env_args}
            self._eval_envs = self._envs(self.eval_split, args, min(c.eval_episodes, c.eval_batch))
            self._eval_agents = [self._agent(c.eval_temperature) for _ in self._eval_envs]
        return self._eval_envs

    @property
    def eval_agents(self) -> list[LLMAgent]:
        self.eval_envs  # noqa: B018 (built together)
        return self._eval_agents

    # ---------------------------------------------------------------------------------------- rollouts

    def plan(self, update: int, group_size: int | None = None) -> GroupPlan:
        """This update's groups: ``tasks_per_update`` tasks drawn from the training split, G rollouts each."""
        c = self.config
        task_ids = self.envs[0].unwrapped.task_ids
        tasks = tuple(task_ids[self.task_rng.randrange(len(task_ids))] for _ in range(c.tasks_per_update))
        return GroupPlan(tasks, group_size or c.group_size, update_seed(c.seed, update))

    def rollout_update(self, update: int) -> Batch:
        """G rollouts of each of the update's tasks by the policy."""
        c = self.config
        plan = self.plan(update)
        self.model.eval()
        played = self.play(self.envs, self.agents, plan.episodes(), max_steps=c.max_steps, policy=c.method)
        return Batch(groups=tuple(plan.groups(played)))

    def play(self, envs: list[Any], agents: list[Any], episodes: list[Any], *, max_steps: int, policy: str
             ) -> list[Trajectory]:
        """The update's episodes (the last trial of each), in order. With several ranks each plays its
        contiguous share and every rank gets them all: the episodes a single process would have played."""
        mine = self.ranks.share(list(range(len(episodes))))
        played = play_batch(envs, [agents[i % len(agents)] for i in mine], [episodes[i] for i in mine],
                            max_steps=max_steps, policy=policy) if mine else []
        return gather([trials[-1] for trials in played], self.ranks)

    # ------------------------------------------------------------------------------------------ update

    def update(self, batch: Batch, update: int) -> dict[str, Any]:
        method = self.method
        advantages = [method.step_advantages(group) for group in batch.groups]
        contexts = [build_contexts(group, self.spec) for group in batch.groups] \
            if self.spec is not None and method.teacher_active else None
        samples = [s for s in build_samples(batch, self.tokenizer, advantages, contexts, self.spec,
                                            teacher_tokens=self.config.teacher_prompt_tokens
                                            or self.entry.max_prompt_tokens) if method.keep(s, batch)]
        if self.config.drop_zero_advantage and not method.value_head:
            samples = [s for s in samples if method.carries_signal(s)]
        tokens = sum(s.length for s in samples)
        self.totals["tokens"] += tokens
        metrics: dict[str, Any] = {"update": update, "samples": len(samples), "tokens": tokens,
                                   **_rollout_metrics(batch)}
        if not samples or not method.learns_from(samples):  # the gradient would be exactly zero
            return {**metrics, "skipped": "no learning signal (every advantage is zero)", **method.metrics()}
        metrics.update(self.learner.learn(samples, update))
        if hasattr(self.backend, "update_weights"):
            self.backend.update_weights(self.model.named_parameters())
        return metrics

    # -------------------------------------------------------------------------------------- evaluation

    def evaluate(self) -> list[Trajectory]:
        """The evaluation protocol's episodes (task i mod len, seed + i) on the eval split, without a log."""
        c = self.config
        envs = self.eval_envs
        episodes = eval_episodes(envs[0].unwrapped.task_ids, c.eval_episodes, c.eval_seed)
        self.model.eval()
        agents = [self.eval_agents[i % len(self.eval_agents)] for i in range(len(episodes))]
        return [trials[-1] for trials in play_batch(envs, agents, episodes, max_steps=c.max_steps, policy=c.method)]

    def evaluate_into(self, run: RunDir) -> None:
        """The same episodes, appended to ``run``'s episode log by the harness (resumable)."""
        c = self.config
        envs = self.eval_envs
        self.model.eval()
        play_into(run, envs, self.eval_agents, eval_episodes(envs[0].unwrapped.task_ids, c.eval_episodes, c.eval_seed),
                  max_steps=c.max_steps, progress=self.progress, desc=f"final eval of {c.method} on {self.eval_split}",
                  policy=c.method)

    # ------------------------------------------------------------------------------------- checkpoints

    @property
    def checkpoint_dir(self) -> Path:
        return self.run.path / "checkpoints" / "last"

    def save(self, update: int) -> None:
        """Write the checkpoint of ``update`` atomically (model, tokenizer, optimizer, teacher, counters). The
        counters hold the run's wall clock so far, so a resumed run adds its own segment to it."""
        if not self.ranks.main:  # rank 0 writes; the weights are the same on every rank
            self.saved_update = update
            return
        staging = self.run.path / "checkpoints" / f"{STAGING_PREFIX}{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            self._write_checkpoint(staging, update)
            old = self.checkpoint_dir.with_name(PREVIOUS)
            shutil.rmtree(old, ignore_errors=True)
            if self.checkpoint_dir.exists():
                os.replace(self.checkpoint_dir, old)
            os.replace(staging, self.checkpoint_dir)
            self._retire(old)
            self.saved_update = update
        except Exception as exc:
            if not _write_failure(exc):
                raise
            recover_checkpoints(staging.parent)
            reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0][:160]
            raise RunDirError(f"cannot write the checkpoint of update {update} in {self.run.path / 'checkpoints'}: "
                              f"{reason}; the last checkpoint and the logs are kept (continue with --resume --out "
                              f"{self.run.path})") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _retire(self, old: Path) -> None:
        """The checkpoint just replaced: kept as ``checkpoints/update-K/`` without its optimizer state (to evaluate,
        not to resume) where ``keep_checkpoints`` asks for more than the last, else removed; the oldest beyond
        the count go."""
        keep = self.config.keep_checkpoints - 1
        if keep > 0 and old.is_dir() and self.saved_update is not None:
            (old / "state.pt").unlink(missing_ok=True)
            os.replace(old, old.with_name(f"update-{self.saved_update}"))
        shutil.rmtree(old, ignore_errors=True)
        kept = sorted(old.parent.glob("update-*"), key=lambda p: int(p.name.removeprefix("update-")))
        for stale in kept[:max(len(kept) - keep, 0)]:
            shutil.rmtree(stale, ignore_errors=True)

    def _write_checkpoint(self, staging: Path, update: int) -> None:
        self.model.save_pretrained(staging / "model")
        self.tokenizer.save_pretrained(staging / "model")
        (staging / "model" / PROVENANCE_FILE).write_text(json.dumps(self.origin_record(), indent=2) + "\n")
        learner = self.learner
        if learner.teacher is not None and not _same_weights(learner.teacher, self.model):
            learner.teacher.save_pretrained(staging / "teacher")  # else it is the policy: not stored twice
        totals = {**self.totals, "wall_clock_s": self.elapsed()}
        final = update == self.config.updates - 1  # the run is done: resuming only evaluates, no optimizer needed
        torch.save({"optimizer": None if final else learner.optimizer.state_dict(), "update": update,
                    "value_head": learner.value_head.state_dict() if learner.value_head else None,
                    "teacher_synced_at": learner.teacher_synced_at, "task_rng": self.task_rng.getstate(),
                    "torch_rng": torch.get_rng_state(), "totals": totals}, staging / "state.pt")

    def elapsed(self) -> float:
        """Seconds of wall clock the run has taken so far, over every segment of it."""
        return self.totals["wall_clock_s"] + time.time() - self.segment_started

    def origin_record(self) -> dict[str, Any]:
        """What this run's checkpoints say about themselves (read back by `serl_bench.models.model_origin`)."""
        c = self.config
        return {"kind": "run", "name": self.run.path.name, "run_config_hash": config_hash(self.run.read_config()),
                "recipe": None, "parent": self.start_origin,
                "agent": {"history": c.history, "max_new_tokens": c.max_new_tokens, "prompt": str(c.prompt),
                          "dtype": str(self.model.dtype).removeprefix("torch.")}}

    def load(self) -> int:
        """Restore the last checkpoint; the update to continue from."""
        from ..models._transformers import auto_classes

        AutoModelForCausalLM = auto_classes()[0]
        state_path = self.checkpoint_dir / "state.pt"
        if not state_path.exists():
            raise RunDirError(f"{self.run.path} has no checkpoint to resume from (checkpoints/last/state.pt)")
        state = load_state(state_path, self.device)
        loaded = AutoModelForCausalLM.from_pretrained(self.checkpoint_dir / "model", dtype=self.model.dtype)
        self.model.load_state_dict(loaded.state_dict())
        learner = self.learner
        if learner.teacher is not None:
            stored = self.checkpoint_dir / "teacher"
            teacher = self.model
            if stored.exists():
                teacher = AutoModelForCausalLM.from_pretrained(stored, dtype=self.model.dtype)
            learner.teacher.load_state_dict(teacher.state_dict())
        if state["optimizer"] is not None:
            learner.optimizer.load_state_dict(state["optimizer"])
        elif int(state["update"]) + 1 < self.config.updates:
            raise RunDirError(f"{state_path} has no optimizer state (it is the checkpoint of a finished run), so "
                              "training cannot continue from it; start a new run from it with --model RUN_DIR")
        self.saved_update = int(state["update"])
        if learner.value_head is not None and state["value_head"] is not None:
            learner.value_head.load_state_dict(state["value_head"])
        learner.teacher_synced_at = state["teacher_synced_at"]
        self.task_rng.setstate(state["task_rng"])
        torch.set_rng_state(state["torch_rng"])
        self.totals = {**self.totals, **state["totals"]}  # wall_clock_s: the segments before this one
        if hasattr(self.backend, "update_weights"):
            self.backend.update_weights(self.model.named_parameters())
        return int(state["update"]) + 1

    def close(self) -> None:
        for env in self.envs + self._eval_envs:
            env.close()


STAGING_PREFIX = ".staging-"  #: a checkpoint being written (``.staging-<pid>``)
PREVIOUS = ".previous"  #: the checkpoint being replaced, while the new one moves in


def recover_checkpoints(folder: Path) -> None:
    """Undo what a process killed while checkpointing left in ``folder`` (the caller holds the run's lock, so no
    other process is writing there): half-written staging folders are removed, and a checkpoint that was being
    replaced when the process died is put back where it was."""
    if not folder.is_dir():
        return
    for staging in folder.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(staging, ignore_errors=True)
    previous, last = folder / PREVIOUS, folder / "last"
    if previous.is_dir():
        if last.exists():
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(previous, last)


def load_state(path: Path, device: str) -> dict[str, Any]:
    """A checkpoint's ``state.pt``, read with ``weights_only=True``: tensors and plain values only. A run
    directory may come from someone else, and a pickle of anything else could run code as whoever resumes it."""
    import pickle

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunDirError(f"{path} is not a checkpoint state serl-bench wrote (it holds more than tensors and plain "
                          f"values, or is damaged: {reason[:120]}); it was not loaded, so the run cannot resume "
                          "from it") from None
    if not isinstance(state, dict) or "update" not in state:
        raise RunDirError(f"{path} is not a checkpoint state serl-bench wrote (no update counter); it cannot be "
                          "resumed from")
    return state


def _write_failure(exc: Exception) -> bool:
    """Whether saving failed for want of room or rights: an OSError, or the same wrapped by torch's and
    safetensors' writers (which raise their own types, saying so in the message)."""
    text = str(exc)
    return isinstance(exc, OSError) or any(sign in text for sign in (
        "No space left", "StorageFull", "os error 28", "file write failed", "Permission denied", "Read-only"))


def _same_weights(a: Any, b: Any) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def _rollout_metrics(batch: Batch) -> dict[str, Any]:
    trajectories = [t for g in batch.groups for t in g.trajectories]
    steps = [s for t in trajectories for s in t.steps]
    return {"charts/success_rate": sum(t.won for t in trajectories) / max(1, len(trajectories)),
            "charts/mean_reward": sum(t.total_reward for t in trajectories) / max(1, len(trajectories)),
            "charts/score_mean": sum(t.score for t in trajectories) / max(1, len(trajectories)),
            "charts/valid_action_rate": sum(s.action_span is not None for s in steps) / max(1, len(steps)),
            "charts/mean_steps": len(steps) / max(1, len(trajectories)), "rollouts": len(trajectories)}
