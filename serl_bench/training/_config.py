"""The training configuration (``serl-bench run``): the loop's settings, every default documented once, here.

A method's own settings (SERL's lambda schedule, GiGPO's gamma, PPO's GAE...) are the method's constructor
arguments, set with ``--method-arg name=value`` and recorded in the results' ``method_args``; this
config holds what every method shares: the model, the envs, the budget, the optimizer and objective, the
feedback spec (for methods that use feedback), evaluation and checkpoints.

Profiles are named sets of defaults: ``cpu-small`` (the default: the bundled 135M model, a few updates on
a small procedural split, a few minutes on two CPU cores), ``gpu`` (one GPU, a 0.5-1.5B model, vLLM
rollouts; ALFWorld 50 steps, WebShop 15), and ``paper-alfworld`` / ``paper-webshop`` (the official SERL run
scripts' settings: G 8, 16 tasks per update, lr 1e-6, 512 response tokens, history 2, validation at
temperature 0.4; the model is a ``--model`` away, and on a CPU the same settings run when the budget is
lowered).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from serl_bench.agents import PromptStyle
from serl_bench.envworkers import DEFAULT_TIMEOUT, check_worker_settings
from serl_bench.errors import ConfigError, UnknownNameError
from serl_bench.feedback import Granularity
from serl_bench.options import option
from serl_bench.transcripts import TrainTranscripts

from ._loggers import LoggerKind


class RolloutBackend(StrEnum):
    """What generates the training rollouts."""

    HF = "hf"  #: the trained model itself (transformers)
    VLLM = "vllm"  #: an in-process vLLM engine, weights synced after every update


class DType(StrEnum):
    """Training dtype."""

    AUTO = "auto"  #: bf16 on GPU; on CPU fp32 weights, computing in whichever of fp32/bf16 is faster here
    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"


class Device(StrEnum):
    AUTO = "auto"  #: cuda where available, else cpu
    CPU = "cpu"
    CUDA = "cuda"


@dataclass(frozen=True)
class TrainConfig:
    """Configuration of one training run (the loop's settings; the method's are in ``method_args``)."""

    method: str = option("training method (grpo, gigpo, rloo, ppo, sft, rft, opd, serl; see `serl-bench methods`)")
    method_args: dict[str, Any] = option("the method's own settings, e.g. lambda0=0.3 for serl (see "
                                         "`serl-bench methods --json`)", default_factory=dict)
    env: str = option("environment", default="webshop")
    split: str | None = option("training split; default: the env's training split", default=None)
    eval_split: str | None = option("split evaluated during and after training; default: the env's test split",
                                    default=None)
    env_args: dict[str, Any] = option("keyword arguments for the training and evaluation envs",
                                      default_factory=dict)
    eval_env_args: dict[str, Any] = option("keyword arguments for the evaluation env only (over --env-arg)",
                                           default_factory=dict)
    model: str = option("policy model: default (bundled), default-sft-webshop / default-sft-alfworld (warm starts "
                        "built once), a training run's directory, a model folder, a .gguf file or a hub id; auto: "
                        "the env's warm start", default="auto")
    backend: RolloutBackend = option("rollout backend", default=RolloutBackend.HF)
    dtype: DType = option("training dtype", default=DType.AUTO)
    updates: int = option("policy updates", default=3)
    tasks_per_update: int = option("tasks (groups) per update", default=2)
    group_size: int = option("rollouts per task (G)", default=8)
    max_steps: int = option("steps after which an episode is truncated", default=15)
    max_new_tokens: int = option("tokens per response", default=40)
    temperature: float = option("rollout sampling temperature (above 1: groups of a near-deterministic policy "
                                "differ more)", default=1.2)
    history: int = option("earlier steps shown in the prompt", default=2)
    prompt: PromptStyle = option("prompt style: standard (reason, then act) or compact (act only, short prompts)",
                                 default=PromptStyle.COMPACT)
    lr: float = option("learning rate (AdamW)", default=2e-5)
    weight_decay: float = option("AdamW weight decay (official: 0.01)", default=0.01)
    epochs: int = option("passes over each update's samples", default=1)
    train_layers: int = option("train only the top N decoder layers and the final norm (0, or N above the "
                               "model's depth: the whole model); the backward pass stops there", default=10)
    drop_zero_advantage: bool = option("leave samples whose advantage is 0 out of the update (they carry no "
                                       "policy gradient, only entropy)", default=True)
    minibatch: int = option("samples per optimizer step", default=256)
    micro_batch: int = option("samples per forward pass (gradient accumulation)", default=8)
    ppo_clip: float = option("PPO ratio clip epsilon", default=0.2)
    dual_clip: float = option("dual-clip constant c for negative advantages (0: off; official: 3)", default=3.0)
    entropy_coef: float = option("entropy bonus coefficient (official: 0.001)", default=0.001)
    max_grad_norm: float = option("gradient clipping norm", default=1.0)
    feedback: str = option("hindsight sources for methods that use feedback (serl, opd), joined with + (all) or | "
                           "(fallback)", default="immediate_feedback")
    granularity: Granularity = option("where feedback is inserted", default=Granularity.STEP)
    feedback_args: dict[str, Any] = option("options of the feedback spec, e.g. expert_fallback=true or "
                                           "anchor_similarity=0.9", default_factory=dict)
    teacher_prompt_tokens: int = option("teacher prompts are cut to this many tokens from the right, as the "
                                        "official code does (0: the env's prompt limit, ALFWorld 2048, WebShop "
                                        "4096)", default=0)
    eval_every: int = option("evaluate every N updates (0: only at the end)", default=0)
    eval_episodes: int = option("evaluation episodes (tasks of the eval split, in order)", default=30)
    eval_temperature: float = option("evaluation sampling temperature (0: greedy)", default=0.0)
    eval_seed: int = option("base seed of the evaluation episodes (episode i: task i, seed eval_seed + i), the same "
                            "for every training seed, so runs are evaluated on one panel", default=0)
    eval_batch: int = option("evaluation episodes played at once (one batched generation per step)", default=20)
    env_workers: int = option("worker processes the rollout and evaluation envs live in (0: this process); the "
                              "episodes are the same, a worker that dies or hangs is restarted and its episodes "
                              "replayed", default=0)
    env_timeout: float = option("seconds an env worker may take over one step before it is called hung",
                                default=DEFAULT_TIMEOUT)
    ray_address: str | None = option("run the env workers as Ray actors on this cluster (`auto`, HOST:PORT, or `local` "
                                     "for a Ray of this process's); needs --env-workers N", default=None)
    eval_before: bool = option("also evaluate the starting model on the same panel first (into <run>/start), so "
                               "the run reports success before and after training", default=True)
    checkpoint_every: int = option("save a checkpoint every N updates (0: only at the end)", default=1)
    keep_checkpoints: int = option("checkpoints kept: the last (1), or also the N-1 before it, as "
                                   "checkpoints/update-K/ (model only, to evaluate)", default=1)
    logger: LoggerKind = option("also log every update's metrics to tensorboard, wandb or trackio (offline, in the "
                                "run directory; pip install 'serl-bench[loggers]')", default=LoggerKind.NONE)
    train_transcripts: TrainTranscripts = option("training groups written to train-transcripts.jsonl each update: "
                                                 "first (one group), all or none", default=TrainTranscripts.FIRST)
    seed: int = option("seed of task sampling, rollouts and initialization", default=0)
    device: Device = option("where the model trains", default=Device.AUTO)
    gradient_checkpointing: bool = option("trade compute for memory (large models on GPU)", default=False)
    profile: str = option("a named set of defaults: cpu-small, gpu, paper-alfworld or paper-webshop (the official "
                          "SERL scripts' settings)", default="cpu-small")

    def __post_init__(self) -> None:
        """Closed sets given as text (from Python or JSON) become their enum, or a one-line error."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            kind, value = hints[f.name], getattr(self, f.name)
            if isinstance(kind, type) and issubclass(kind, StrEnum) and not isinstance(value, kind):
                if value not in kind._value2member_map_:
                    raise UnknownNameError(f.name.replace("_", " "), str(value), [m.value for m in kind])
                object.__setattr__(self, f.name, kind(value))

    def check(self) -> None:
        """Every value in range, or a one-line `ConfigError` (before anything is built or written)."""
        for name, low in _AT_LEAST.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"--{_flag(name)} must be at least {low} (a whole number), got {value!r}")
        for name, low in _AT_LEAST_REAL.items():
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not number or value < low:
                bound = f" of at least {low}" if math.isfinite(low) else ""
                raise ConfigError(f"--{_flag(name)} must be a finite number{bound}, got {value!r}")
        check_worker_settings(self.env_workers, self.env_timeout, self.ray_address)
        if self.lr <= 0:
            raise ConfigError(f"--lr must be above 0, got {self.lr!r}")
        if not 0 < self.ppo_clip < 1:
            raise ConfigError(f"--ppo-clip must be in (0, 1), got {self.ppo_clip!r}")
        if self.dual_clip and self.dual_clip <= 1:
            raise ConfigError(f"--dual-clip must be above 1 (or 0: off), got {self.dual_clip!r}")
        for name in ("method_args", "env_args", "eval_env_args", "feedback_args"):
            if not isinstance(getattr(self, name), dict):
                raise ConfigError(f"{name} must be a dict of keyword arguments, got {getattr(self, name)!r}")


#: whole-number settings and their least value
_AT_LEAST = {"updates": 1, "tasks_per_update": 1, "group_size": 1, "max_steps": 1, "max_new_tokens": 1, "epochs": 1,
             "minibatch": 1, "micro_batch": 1, "eval_episodes": 1, "eval_batch": 1, "history": 0, "train_layers": 0,
             "teacher_prompt_tokens": 0, "eval_every": 0, "checkpoint_every": 0, "keep_checkpoints": 1, "seed": 0,
             "eval_seed": 0}
#: real-valued settings and their least value (every one finite)
_AT_LEAST_REAL = {"temperature": 0.0, "eval_temperature": 0.0, "lr": float("-inf"), "weight_decay": 0.0,
                  "ppo_clip": float("-inf"), "dual_clip": 0.0, "entropy_coef": float("-inf"), "max_grad_norm": 0.0}

def resolve_device(device: str) -> str:
    """``cuda`` or ``cpu``: the device a run trains on (``auto``: a GPU where one is visible)."""
    if device != "auto":
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _flag(name: str) -> str:
    return name.replace("_", "-")


@dataclass(frozen=True)
class Profile:
    """Defaults for a kind of machine; ``env_args`` are per env (an ALFWorld setting means nothing to WebShop)."""

    fields: dict[str, Any] = field(default_factory=dict)
    env_fields: dict[str, dict[str, Any]] = field(default_factory=dict)  #: fields per env (episode length...)
    env_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_env_args: dict[str, dict[str, Any]] = field(default_factory=dict)


_FULL_LOOP = {  # what the CPU defaults trade away for speed, restored where compute allows
    "model": "default", "prompt": PromptStyle.STANDARD, "temperature": 1.0, "train_layers": 0,
    "drop_zero_advantage": False,
}
_PAPER = {  # the official SERL run scripts (recipe/serl/run_alfworld.sh, run_webshop.sh): the model is yours
    "group_size": 8, "tasks_per_update": 16, "lr": 1e-6, "max_new_tokens": 512, "history": 2, "temperature": 1.0,
    "eval_temperature": 0.4, "updates": 150, "eval_every": 15, "eval_episodes": 128, "checkpoint_every": 10,
    "epochs": 1, "ppo_clip": 0.2, "dual_clip": 3.0, "entropy_coef": 0.001, "weight_decay": 0.01, "max_grad_norm": 1.0,
    "feedback": "immediate_feedback", "granularity": "step", **_FULL_LOOP,
}

PROFILES: dict[str, Profile] = {
    "cpu-small": Profile(env_args={"alfworld": {"games_per_type": 4}},
                         eval_env_args={"alfworld": {"games_per_type": 2}}),
    "gpu": Profile(
        fields={"backend": RolloutBackend.VLLM, "dtype": DType.BFLOAT16, "updates": 150, "tasks_per_update": 16,
                "group_size": 8, "max_new_tokens": 256, "history": 2, "lr": 1e-6, "minibatch": 64,
                "micro_batch": 8, "eval_every": 10, "eval_episodes": 120, "checkpoint_every": 10,
                "gradient_checkpointing": True, "device": Device.CUDA, **_FULL_LOOP},
        env_fields={"alfworld": {"max_steps": 50}, "webshop": {"max_steps": 15}},
        env_args={"alfworld": {"games_per_type": 100}}, eval_env_args={"alfworld": {"games_per_type": 20}}),
    "paper-alfworld": Profile(fields={**_PAPER, "env": "alfworld", "max_steps": 50, "minibatch": 256,
                                      "micro_batch": 32}),
    "paper-webshop": Profile(fields={**_PAPER, "env": "webshop", "max_steps": 15, "minibatch": 64, "micro_batch": 8}),
}


def with_profile(config: TrainConfig, explicit: set[str]) -> TrainConfig:
    """``config`` with its profile's defaults, except for the fields the user set (``explicit``); the
    profile's env arguments are defaults under the user's own."""
    if config.profile not in PROFILES:
        raise UnknownNameError("profile", config.profile, PROFILES)
    profile = PROFILES[config.profile]
    env = profile.fields["env"] if "env" in profile.fields and "env" not in explicit else config.env
    fields = {**profile.fields, **profile.env_fields.get(env, {})}
    overrides = {k: v for k, v in fields.items() if k not in explicit}
    config = dataclasses.replace(config, env=env)
    overrides["env_args"] = {**profile.env_args.get(config.env, {}), **config.env_args}
    overrides["eval_env_args"] = {**profile.eval_env_args.get(config.env, {}), **config.eval_env_args}
    return dataclasses.replace(config, **overrides)
