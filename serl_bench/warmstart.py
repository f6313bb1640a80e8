"""Named warm starts: models serl-bench builds once by SFT of the bundled model, caches, and records.

A 135M model almost never emits a valid action zero-shot, so RL from it sees no reward. A warm start is
that model fine-tuned on the env expert's demonstrations of the *training* split; every method of a
comparison starts from the same one. ``--model default-sft-webshop`` (or ``-alfworld``) builds it the first
time (a few minutes on 2 CPU cores; the cost is printed), keeps the SFT run in the cache, and afterwards
loads it in a second. Its ``serl_bench_origin.json`` records the recipe (method, settings, split and its
fingerprint, demonstrations), the base model's hash and the SFT run's config hash, so every record that
starts from it says exactly what it started from.

Example::

    from serl_bench.warmstart import ensure_warm_start
    path = ensure_warm_start("default-sft-webshop")     # the model folder (built once)
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .paths import cache_dir, writing_cache
from .results import canonical_json


@dataclass(frozen=True)
class WarmStart:
    """How a named warm start is built: SFT of ``base`` on expert demonstrations of ``env``'s training split."""

    env: str
    base: str = "default"
    updates: int = 16  #: SFT updates, each on ``tasks_per_update`` fresh demonstrations
    tasks_per_update: int = 4
    lr: float = 3e-4
    prompt: str = "compact"
    history: int = 2
    max_new_tokens: int = 40
    train_layers: int = 0
    minibatch: int = 64
    micro_batch: int = 8
    seed: int = 0
    minutes: float = 8.0  #: about how long it takes on 2 CPU cores (printed before building)

    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"method": "sft"}


WARM_STARTS: dict[str, WarmStart] = {
    "default-sft-webshop": WarmStart(env="webshop"),
    # the same SFT with every earlier action of a WebShop episode in the prompt (the product page does not
    # mark chosen options, so with history 2 a policy cannot see which options it already clicked)
    "sft-webshop-history8": WarmStart(env="webshop", history=8),
    "default-sft-alfworld": WarmStart(env="alfworld", updates=24, tasks_per_update=2, max_new_tokens=24,
                                      minutes=20.0),
}
VERSION = 1  #: bumped when a recipe's meaning changes, so an old cached build is not reused


def is_warm_start(name: str) -> bool:
    return name in WARM_STARTS


def prompt_mismatch(origin: dict[str, Any], *, prompt: str, history: int) -> str | None:
    """What differs between the prompt a warm start learned on and the one a run gives it, or None.

    A warm start acts on the prompt it was fine-tuned on; shown more or fewer earlier actions, or another
    prompt style, it meets text it never saw, and a comparison of methods from it measures that too."""
    recipe = origin.get("recipe") or {}
    if origin.get("kind") != "warm-start" or not recipe:
        return None
    differs = [f"{key} {recipe[key]} (this run: {value})" for key, value in (("prompt", prompt), ("history", history))
               if key in recipe and recipe[key] != value]
    if not differs:
        return None
    return (f"the warm start {origin.get('name')} learned on {' and '.join(differs)}; "
            f"pass --prompt {recipe.get('prompt')} --history {recipe.get('history')} to give it the prompt it knows")


def warm_start_dir(name: str) -> Path:
    """Where the named warm start's SFT run lives in the cache (keyed by its recipe and base model)."""
    from .models import model_origin, resolve_model

    recipe = WARM_STARTS[name]
    base = model_origin(resolve_model(recipe.base))
    key = hashlib.sha256(canonical_json([VERSION, recipe.settings(), base["sha256"]]).encode()).hexdigest()[:16]
    return cache_dir() / "warm-starts" / f"{name}-{key}"


def ensure_warm_start(name: str, *, progress: bool = True) -> Path:
    """The named warm start's model folder, built first if it is not in the cache."""
    if name not in WARM_STARTS:
        raise ConfigError(f"unknown warm start {name!r}; valid: {', '.join(WARM_STARTS)}")
    run = warm_start_dir(name)
    model = run / "checkpoints" / "last" / "model"
    if (model / "serl_bench_origin.json").is_file() and _built(model):
        return model
    with writing_cache(f"the warm start {name}"):
        run.parent.mkdir(parents=True, exist_ok=True)
        lock = open(run.with_suffix(".lock"), "w")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait, then use its result
        if not _built(model):
            _build(name, run, progress)
    return model


def _built(model: Path) -> bool:
    try:
        return json.loads((model / "serl_bench_origin.json").read_text()).get("kind") == "warm-start"
    except (OSError, ValueError):
        return False


def _build(name: str, run: Path, progress: bool) -> None:
    import shutil

    from .training import TrainConfig, train

    recipe = WARM_STARTS[name]
    print(f"serl-bench: building the warm start {name} once: SFT of the bundled model on "
          f"{recipe.updates * recipe.tasks_per_update} expert demonstrations of {recipe.env}'s training split "
          f"(about {recipe.minutes:.0f} min on 2 CPU cores); cached in {run}", file=sys.stderr)
    shutil.rmtree(run, ignore_errors=True)  # a build that was cut short starts over
    config = TrainConfig(method="sft", env=recipe.env, model=recipe.base, updates=recipe.updates,
                         tasks_per_update=recipe.tasks_per_update, group_size=1, lr=recipe.lr, prompt=recipe.prompt,
                         history=recipe.history, max_new_tokens=recipe.max_new_tokens,
                         train_layers=recipe.train_layers, minibatch=recipe.minibatch, micro_batch=recipe.micro_batch,
                         eval_episodes=2, eval_before=False, checkpoint_every=0, seed=recipe.seed, profile="cpu-small")
    started = time.time()
    result = train(config, out=run, progress=progress, explicit=frozenset(dataclasses.asdict(config)))
    model = run / "checkpoints" / "last" / "model"
    origin_path = model / "serl_bench_origin.json"
    origin = json.loads(origin_path.read_text())
    origin.update({"kind": "warm-start", "name": name, "recipe": {
        **recipe.settings(), "split": _entry(recipe.env).train_split,
        "demonstrations": recipe.updates * recipe.tasks_per_update,
        "split_fingerprint": _train_fingerprint(recipe.env), "build_seconds": round(time.time() - started, 1),
        "sft_run": result.path.name}})
    from .rundir import write_atomic

    write_atomic(origin_path, json.dumps(origin, indent=2) + "\n")


def _entry(env: str) -> Any:
    from .envs import env_entry

    return env_entry(env)


def _train_fingerprint(env: str) -> str:
    from .rollouts import make_env

    entry = _entry(env)
    made = make_env(entry, entry.train_split, max_steps=entry.max_steps, progress=False)
    try:
        return made.unwrapped.split.fingerprint
    finally:
        made.close()
