"""Envs serl-bench does not ship: an installed distribution's entry point (``serl_bench.envs``) or
``--env module:attr``, used through eval, feedback and run, checked before any episode."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import assert_one_line_error

LOCK_ENV = '''
"""A three-digit lock: try a digit at each position; the right code opens it."""
import hashlib
from dataclasses import dataclass

from serl_bench.envs import EnvEntry, Split, TextEnv


@dataclass(frozen=True)
class Code:
    task_id: str
    code: str

    def content_hash(self):
        return hashlib.sha256(self.code.encode()).hexdigest()


class LockEnv(TextEnv):
    metadata = {"render_modes": []}

    def __init__(self, split="test", *, locks=4, progress=None, render_mode=None):
        codes = [f"{(7 * i + 3) % 10}{(3 * i + 1) % 10}{(i + 5) % 10}" for i in range(locks)]
        self.split = Split(split, "generated", tuple(Code(f"lock-{i}", c) for i, c in enumerate(codes)))

    def _info(self, feedback):
        done = self._entered == self._task.code
        return {"task": f"open the lock (code {self._task.code})",
                "admissible_actions": [f"try {d}" for d in "0123456789"],
                "feedback": feedback, "anchor": f"entered '{self._entered}'", "won": done, "score": float(done),
                "task_type": "lock"}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._task, self._entered = self.draw_task(options), ""
        return f"A lock with {len(self._task.code)} digits.", self._info(None)

    def step(self, action):
        digit = action[4:] if isinstance(action, str) and action.startswith("try ") else None
        if digit is None or len(digit) != 1 or digit not in "0123456789":
            return "Nothing happens.", 0.0, False, False, self._info("That is not a digit to try.")
        if self._task.code[len(self._entered)] == digit:
            self._entered += digit
            won = self._entered == self._task.code
            return ("The lock opens." if won else "Click."), float(won), won, False, self._info("Right digit.")
        return "Nothing happens.", 0.0, False, False, self._info("Wrong digit.")

    def expert_action(self):
        return f"try {self._task.code[len(self._entered)]}"


ENTRY = EnvEntry(name="lock", id="plugin/Lock-v0", entry_point="lock_env:LockEnv", default_split="test",
                 train_split="train", splits={"test": "generated", "train": "generated"}, task_types=("lock",),
                 description="a three-digit lock (a test plugin)",
                 feedback_sources=("immediate_feedback", "next_observation", "future_trajectory",
                                   "successful_trajectory", "current_trajectory"),
                 anchors=True, expert=True, max_steps=8)


class NoSplit(LockEnv):
    def __init__(self, split="test", *, progress=None, render_mode=None):
        pass


class Raises(LockEnv):
    def step(self, action):
        if not str(action).startswith("try "):
            raise ValueError(f"cannot parse {action!r}")  # the contract: a malformed action costs a step instead
        return super().step(action)


NO_SPLIT = EnvEntry(name="nosplit", id="plugin/NoSplit-v0", entry_point="lock_env:NoSplit", default_split="test",
                    train_split="train", splits={"test": "generated"}, task_types=("lock",), description="no split")
RAISES = EnvEntry(name="raises", id="plugin/Raises-v0", entry_point="lock_env:Raises", default_split="test",
                  train_split="train", splits={"test": "generated"}, task_types=("lock",), description="raises")
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """A directory holding an installed distribution in the metadata's sense: a module and its dist-info."""
    root = tmp_path_factory.mktemp("plugin-site")
    (root / "lock_env.py").write_text(textwrap.dedent(LOCK_ENV))
    info = root / "lock_env-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lock-env\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[serl_bench.envs]\nlock = lock_env:ENTRY\n")
    return root


@pytest.fixture(scope="module")
def broken_plugin_path(tmp_path_factory):
    """A second distribution whose entry point names nothing."""
    root = tmp_path_factory.mktemp("broken-plugin-site")
    info = root / "broken_env-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-env\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[serl_bench.envs]\nbroken = lock_env:MISSING\n")
    return root


def cli(plugin_path, *args, cwd=None):
    paths = plugin_path if isinstance(plugin_path, list) else [plugin_path]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, paths), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "serl_bench", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600, cwd=cwd)


def test_an_installed_plugin_env_is_listed_and_evaluated(plugin_path, broken_plugin_path, tmp_path):
    listed = cli([plugin_path, broken_plugin_path], "envs")
    assert listed.returncode == 0 and "lock  (plugin/Lock-v0)" in listed.stdout and "[plugin lock-env]" in listed.stdout
    assert "env plugin 'broken' (lock_env:MISSING) failed to load" in listed.stderr  # the others still load
    done = cli(plugin_path, "eval", "--method", "expert", "--env", "lock", "--episodes", "4", "--out", tmp_path / "e",
               "--no-progress")
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "e" / "results.json").read_text())
    assert record["env"] == "lock" and record["success_rate"] == 1.0 and record["split_source"] == "generated"
    random = cli(plugin_path, "eval", "--method", "random", "--env", "lock", "--episodes", "4", "--out",
                 tmp_path / "r", "--no-progress")
    assert random.returncode == 0, random.stderr


def test_a_module_env_is_named_on_the_command_line(plugin_path, tmp_path):
    done = cli(plugin_path, "eval", "--method", "expert", "--env", "lock_env:ENTRY", "--episodes", "2", "--out",
               tmp_path / "m", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "m" / "results.json").read_text())["env"] == "lock_env:ENTRY"
    assert_one_line_error(cli(plugin_path, "eval", "--method", "random", "--env", "lock_env:NOPE"),
                          "module 'lock_env' has no 'NOPE'")
    assert_one_line_error(cli(plugin_path, "eval", "--method", "random", "--env", "lock_env:LockEnv"),
                          "is the class LockEnv, not a serl_bench.envs.EnvEntry")


def test_the_feedback_engine_and_training_take_a_plugin_env(plugin_path, tmp_path, random_model):
    fed = cli(plugin_path, "feedback", "--env", "lock", "--tasks", "2", "--group-size", "2", "--policy",
              "noisy-expert,random", "--out", tmp_path / "contexts.jsonl", "--no-progress")
    assert fed.returncode == 0, fed.stderr
    assert (tmp_path / "contexts.jsonl").read_text().strip()
    ran = cli(plugin_path, "run", "--method", "grpo", "--env", "lock", "--model", random_model, "--updates", "1",
              "--tasks-per-update", "1", "--group-size", "2", "--max-new-tokens", "4", "--eval-episodes", "2",
              "--no-eval-before", "--train-layers", "0", "--out", tmp_path / "run", "--no-progress")
    assert ran.returncode == 0, ran.stderr
    assert json.loads((tmp_path / "run" / "results.json").read_text())["env"] == "lock"


@pytest.mark.parametrize("entry, fragment", [
    ("lock_env:NO_SPLIT", "has no split: set self.split to a serl_bench.envs.Split"),
    ("lock_env:RAISES", "breaks the env contract"),
])
def test_a_broken_env_fails_before_any_episode_in_one_line(plugin_path, tmp_path, entry, fragment):
    out = tmp_path / "broken"
    assert_one_line_error(cli(plugin_path, "eval", "--method", "random", "--env", entry, "--out", out), fragment)
    assert not out.exists()


def test_the_board_marks_rows_of_envs_it_does_not_ship(plugin_path, tmp_path):
    assert cli(plugin_path, "eval", "--method", "expert", "--env", "lock", "--episodes", "2", "--out",
               tmp_path / "e", "--no-progress").returncode == 0
    board = tmp_path / "board"
    submitted = cli(plugin_path, "leaderboard", "submit", tmp_path / "e", "--board", board)
    assert submitted.returncode == 0, submitted.stderr
    rendered = cli(plugin_path, "leaderboard", "render", "--board", board)
    assert rendered.returncode == 0, rendered.stderr
    assert "lock (not bundled)" in (board / "README.md").read_text()
