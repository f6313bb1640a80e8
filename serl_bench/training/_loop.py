"""The training loop every method shares.

Each update: sample tasks -> G rollouts per task (lockstep, batched generation) -> advantages (method
hook) -> hindsight contexts (feedback engine, for methods that use feedback) -> old-policy and teacher
log-probabilities -> per-token advantages (method hook) -> clipped policy-gradient steps on the response
tokens -> ``metrics.jsonl`` -> periodic evaluation -> checkpoint. ``--resume`` continues from the last
checkpoint; at the end the policy is evaluated on the eval split and the run gets its results record.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from serl_bench.agents import LLMAgent
from serl_bench.envs import env_entry
from serl_bench.errors import ConfigError, RunDirError
from serl_bench.feedback import FeedbackSpec, build_contexts
from serl_bench.harness import EpisodeRecord, results_record
from serl_bench.models import ModelRef, SamplingParams, resolve_model
from serl_bench.models._hf import HFBackend, load_hf
from serl_bench.rundir import RunDir
from serl_bench.trajectories import Batch, Group, Trajectory

from ._config import TrainConfig
from ._learner import Learner
from ._method import TrainingMethod
from ._rollout import lockstep
from ._samples import build_samples


class Trainer:
    """Owns the policy, its optimizer, the envs and the run directory of one training run."""

    def __init__(self, config: TrainConfig, method: TrainingMethod, run: RunDir, *, progress: bool = True) -> None:
        self.config, self.method, self.run, self.progress = config, method, run, progress
        torch.manual_seed(config.seed)
        self.ref: ModelRef = resolve_model(config.model)
        if self.ref.kind == "endpoint":
            raise ConfigError("training needs the model's weights: --model must be a model, not an endpoint")
        device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = config.dtype if config.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
        self.model, self.tokenizer, self.device = load_hf(self.ref, dtype=dtype, device=device)
        self.learner = Learner(config, method, self.model)
        self.backend = self._rollout_backend()
        self.spec = FeedbackSpec.parse(config.feedback, config.granularity, expert_fallback=config.expert_fallback) \
            if method.uses_feedback else None
        self.entry = env_entry(config.env)
        self.envs = [self._env(config.split, config.train_games_per_type)
                     for _ in range(config.tasks_per_update * config.group_size)]
        self.agents = [self._agent() for _ in self.envs]
        self.task_rng = random.Random(config.seed)
        self.totals = {"rollouts": 0, "tokens": 0, "wall_clock_s": 0.0}

    # ------------------------------------------------------------------------------------------- setup

    def _rollout_backend(self) -> Any:
        if self.config.backend == "hf":
            return HFBackend.wrap(self.model, self.tokenizer, self.ref)
        if self.config.backend == "vllm":
            from serl_bench.models._vllm import VLLMBackend

            backend = VLLMBackend(self.ref)
            backend.update_weights(self.model.named_parameters())
            return backend
        raise ConfigError(f"--backend {self.config.backend!r}: training rolls out with hf or vllm")

    def _env(self, split: str, games_per_type: int) -> Any:
        kwargs = {"games_per_type": games_per_type} if split.startswith("procgen") else {}
        return self.entry.make(split=split, max_steps=self.config.max_steps, **kwargs)

    def _agent(self, temperature: float | None = None) -> LLMAgent:
        c = self.config
        sampling = SamplingParams(temperature=c.temperature if temperature is None else temperature,
                                  max_new_tokens=c.max_new_tokens)
        return LLMAgent(self.backend, history=c.history, sampling=sampling)

    # ---------------------------------------------------------------------------------------- rollouts

    def rollout_update(self, update: int) -> Batch:
        """G rollouts of each of ``tasks_per_update`` tasks drawn from the training split."""
        c = self.config
        task_ids = self.envs[0].unwrapped.task_ids
        tasks = [task_ids[self.task_rng.randrange(len(task_ids))] for _ in range(c.tasks_per_update)]
        per_env = [task for task in tasks for _ in range(c.group_size)]
        seeds = [c.seed * 100_003 + update * 1009 + i for i in range(len(per_env))]
        self.model.eval()
        trajectories = lockstep(self.envs, self.agents, self.backend, task_ids=per_env, seeds=seeds,
                                max_steps=c.max_steps, sampling=self.agents[0].sampling, policy=c.method)
        groups = [Group(task_id=trajectories[k * c.group_size].task_id,
                        trajectories=tuple(trajectories[k * c.group_size:(k + 1) * c.group_size]))
                  for k in range(c.tasks_per_update)]
        return Batch(groups=tuple(groups))

    # ------------------------------------------------------------------------------------------ update

    def update(self, batch: Batch, update: int) -> dict[str, Any]:
        c, method = self.config, self.method
        advantages = [method.step_advantages(group, c) for group in batch.groups]
        contexts = [build_contexts(group, self.spec) for group in batch.groups] if self.spec else None
        samples = [s for s in build_samples(batch, self.tokenizer, advantages, contexts, self.spec)
                   if method.keep(s, batch)]
        tokens = sum(s.length for s in samples)
        self.totals["tokens"] += tokens
        metrics: dict[str, Any] = {"update": update, "samples": len(samples), "tokens": tokens,
                                   **_rollout_metrics(batch)}
        if not samples or not method.learns_from(samples):  # the gradient would be exactly zero
            method.teacher_weight(update, c)
            return {**metrics, "skipped": "no learning signal (every advantage is zero)", **method.metrics()}
        metrics.update(self.learner.learn(samples, update))
        if hasattr(self.backend, "update_weights"):
            self.backend.update_weights(self.model.named_parameters())
        return metrics

    # -------------------------------------------------------------------------------------- evaluation

    def evaluate(self, split: str | None = None) -> list[Trajectory]:
        """Greedy episodes on the first ``eval_episodes`` tasks of the eval split."""
        c = self.config
        split = split or c.eval_split
        if not hasattr(self, "_eval_envs"):
            self._eval_envs = [self._env(split, c.eval_games_per_type) for _ in range(c.eval_episodes)]
            self._eval_agents = [self._agent(temperature=0.0) for _ in self._eval_envs]
        task_ids = self._eval_envs[0].unwrapped.task_ids
        tasks = [task_ids[i % len(task_ids)] for i in range(c.eval_episodes)]
        self.model.eval()
        return lockstep(self._eval_envs, self._eval_agents, self.backend, task_ids=tasks,
                        seeds=[c.seed + i for i in range(len(tasks))], max_steps=c.max_steps,
                        sampling=self._eval_agents[0].sampling, policy=c.method)

    # ------------------------------------------------------------------------------------- checkpoints

    @property
    def checkpoint_dir(self) -> Path:
        return self.run.path / "checkpoints" / "last"

    def save(self, update: int) -> None:
        """Write the checkpoint of ``update`` atomically (model, tokenizer, optimizer, teacher, counters)."""
        staging = self.run.path / "checkpoints" / f".staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        self.model.save_pretrained(staging / "model")
        self.tokenizer.save_pretrained(staging / "model")
        learner = self.learner
        if learner.teacher is not None and not _same_weights(learner.teacher, self.model):
            learner.teacher.save_pretrained(staging / "teacher")  # else it is the policy: not stored twice
        torch.save({"optimizer": learner.optimizer.state_dict(), "update": update,
                    "value_head": learner.value_head.state_dict() if learner.value_head else None,
                    "teacher_synced_at": learner.teacher_synced_at, "task_rng": self.task_rng.getstate(),
                    "torch_rng": torch.get_rng_state(), "totals": self.totals}, staging / "state.pt")
        old = self.checkpoint_dir.with_name(".previous")
        shutil.rmtree(old, ignore_errors=True)
        if self.checkpoint_dir.exists():
            os.replace(self.checkpoint_dir, old)
        os.replace(staging, self.checkpoint_dir)
        shutil.rmtree(old, ignore_errors=True)

    def load(self) -> int:
        """Restore the last checkpoint; the update to continue from."""
        from transformers import AutoModelForCausalLM

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
        learner.optimizer.load_state_dict(state["optimizer"])
        if learner.value_head is not None and state["value_head"] is not None:
            learner.value_head.load_state_dict(state["value_head"])
        learner.teacher_synced_at = state["teacher_synced_at"]
        self.task_rng.setstate(state["task_rng"])
        torch.set_rng_state(state["torch_rng"])
        self.totals = state["totals"]
        if hasattr(self.backend, "update_weights"):
            self.backend.update_weights(self.model.named_parameters())
        return int(state["update"]) + 1

    def close(self) -> None:
        for env in self.envs + getattr(self, "_eval_envs", []):
            env.close()


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


def episode_records(trajectories: list[Trajectory]) -> list[EpisodeRecord]:
    return [EpisodeRecord(episode=i, task_id=t.task_id, task_type=t.task_type, seed=t.seed, steps=t.length,
                          won=t.won, score=t.score, total_reward=t.total_reward, truncated=t.truncated,
                          actions=[s.action for s in t.steps], error=t.error) for i, t in enumerate(trajectories)]


def append_metrics(run: RunDir, metrics: dict[str, Any]) -> None:
    with open(run.path / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(metrics, sort_keys=True) + "\n")


def trim_metrics(run: RunDir, before: int) -> None:
    """Drop metric lines of updates that the checkpoint being resumed does not include."""
    path = run.path / "metrics.jsonl"
    if path.exists():
        kept = [line for line in path.read_text().splitlines() if line.strip()
                and json.loads(line).get("update", -1) < before]
        path.write_text("".join(line + "\n" for line in kept))


def finish(trainer: Trainer, run_id: str, method_args: dict[str, Any], started: float) -> Any:
    """Evaluate the trained policy, write the episode log and the results record."""
    c = trainer.config
    if trainer.run.episodes_path.exists():
        trainer.run.episodes_path.unlink()  # a resumed run evaluates its final policy afresh
    for record in episode_records(trainer.evaluate()):
        trainer.run.append_episode(asdict(record))
    trainer.totals["wall_clock_s"] += time.time() - started
    training = {"updates": c.updates, "rollouts": trainer.totals["rollouts"], "tokens": trainer.totals["tokens"],
                "wall_clock_s": round(trainer.totals["wall_clock_s"], 1), "device": trainer.device}
    record = results_record(
        trainer.run, run_id, method=c.method, method_args=method_args, env=trainer.entry.name, split=c.eval_split,
        split_source=trainer._eval_envs[0].unwrapped.split.source,
        split_fingerprint=trainer._eval_envs[0].unwrapped.split.fingerprint, seeds=[c.seed],
        model={"name": trainer.ref.name, "source": trainer.ref.kind,
               "parameters": sum(p.numel() for p in trainer.model.parameters()),
               "dtype": str(trainer.model.dtype).removeprefix("torch.")},
        feedback=trainer.spec.as_record() if trainer.spec else None, training=training)
    trainer.run.write_results(record.to_json())
    return record
