"""The contract check runs over every registered serl/ env, and it can fail."""

import itertools

import gymnasium as gym
import pytest
from gymnasium import spaces

from serl_bench.envs import ENVS, INFO_KEYS, EnvContractError, _contract, check_env

SMALL_KWARGS = {"serl/ALFWorld-v0": {"games_per_type": 2}}


def serl_env_ids():
    return sorted(env_id for env_id in gym.registry if env_id.startswith("serl/"))


def test_every_shipped_env_is_registered():
    assert serl_env_ids() == sorted(e.id for e in ENVS.values())


@pytest.mark.parametrize("env_id", serl_env_ids())
def test_registered_envs_honour_the_contract(env_id, small_split):
    env = gym.make(env_id, **SMALL_KWARGS.get(env_id, {}))
    check_env(env, seed=0)
    check_env(env, seed=3)


_INSTANCES = itertools.count()


class _Toy(gym.Env):
    """A tiny env that honours the contract unless told to break one rule."""

    metadata = {"render_modes": []}
    closed = 0  # instances closed, all told

    def __init__(self, breaks: str = ""):
        self.breaks = breaks
        self.instance = next(_INSTANCES)
        self.observation_space = spaces.Text(max_length=100)
        self.action_space = spaces.Text(max_length=100)

    def _info(self, feedback):
        info = {"task": "count", "admissible_actions": ["up"], "feedback": feedback, "anchor": f"n{self.n}",
                "won": self.n >= 3, "score": 1.0 if self.n >= 3 else 0.0, "task_type": "toy"}
        if self.breaks == "missing-key":
            del info["anchor"]
        if self.breaks == "score-range":
            info["score"] = 2.0
        return info

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n = 0
        self.episodes = getattr(self, "episodes", 0) + 1
        return "n0", self._info(None)

    def step(self, action):
        if self.breaks == "raises" and action != "up":
            raise ValueError("bad action")
        self.n += action == "up"
        if self.breaks == "stateful":  # remembers earlier episodes: same seed, different game
            self.n += self.episodes % 2
        feedback = "ok" if action == "up" else "Invalid action."
        if self.breaks == "per-instance":  # the same on every replay, but each instance says it its own way
            feedback += f" (instance {self.instance})"
        return f"n{self.n}", float(self.n >= 3), self.n >= 3, False, self._info(feedback)

    def close(self):
        type(self).closed += 1


class _SeedDefaultToy(_Toy):
    def reset(self, *, seed=0, options=None):  # gymnasium's checker warns: the default should be None
        return super().reset(seed=seed, options=options)


def test_a_conforming_toy_passes():
    check_env(_Toy())


@pytest.mark.parametrize("breaks, message", [
    ("missing-key", "info lacks anchor"),
    ("score-range", "info\\['score'\\] = 2.0"),
    ("raises", "raised ValueError"),
    ("stateful", "not deterministic"),
])
def test_the_check_catches_broken_envs(breaks, message):
    with pytest.raises(EnvContractError, match=message):
        check_env(_Toy(breaks))


def test_an_env_that_differs_per_instance_is_caught_on_a_fresh_instance():
    check_env(_Toy("per-instance"))  # replaying one instance cannot tell (all check_env did before)
    closed = _Toy.closed
    with pytest.raises(EnvContractError, match="not deterministic across instances: a fresh instance differs at step"):
        check_env(_Toy("per-instance"), make=lambda: _Toy("per-instance"))
    assert _Toy.closed == closed + 1  # the second instance is closed, the given one is not
    check_env(_Toy(), make=_Toy)


@pytest.fixture
def registered_toy():
    gym.register("serl_test/Toy-v0", entry_point=_Toy)
    yield "serl_test/Toy-v0"
    del gym.registry["serl_test/Toy-v0"]


def test_an_env_from_make_is_compared_with_one_made_alike(registered_toy):
    env = gym.make(registered_toy, breaks="per-instance")
    assert env.unwrapped.spec.kwargs == {"breaks": "per-instance"}  # what the fresh instance is made with
    with pytest.raises(EnvContractError, match="^serl_test/Toy-v0: not deterministic across instances"):
        check_env(env)
    check_env(gym.make(registered_toy))


def test_a_fresh_instance_gets_the_step_limit_the_env_was_made_with():
    gym.register("serl_test/LimitedToy-v0", entry_point=_Toy, max_episode_steps=2)
    try:  # cut at 4 steps, not at the registered 2 (it once was compared with one cut at 2, and failed)
        check_env(gym.make("serl_test/LimitedToy-v0", max_episode_steps=4))
    finally:
        del gym.registry["serl_test/LimitedToy-v0"]


def test_make_must_build_a_new_instance():
    env = _Toy()
    with pytest.raises(EnvContractError, match="make\\(\\) returned the env itself"):
        check_env(env, make=lambda: env)


def test_the_checkers_warnings_are_not_swallowed():
    with pytest.warns(UserWarning) as record:
        check_env(_SeedDefaultToy())
    said = " ".join(str(w.message) for w in record)
    assert "default seed argument in reset should be `None`" in said  # the checker's own check
    assert "default seed argument in `Env.reset` should be `None`" in said  # its passive checks


def test_only_the_listed_checker_warnings_are_hidden(monkeypatch, recwarn):
    """The checker says it twice, in two wordings; an entry for one hides that one only."""
    monkeypatch.setattr(_contract, "IGNORED_CHECKER_WARNINGS",
                        ((UserWarning, "The default seed argument in reset should be `None`", "for this test"),))
    check_env(_SeedDefaultToy())
    shown = [str(w.message) for w in recwarn if "default seed argument" in str(w.message)]
    assert shown and all("in `Env.reset` should be `None`" in m for m in shown)
    monkeypatch.setattr(_contract, "IGNORED_CHECKER_WARNINGS", ((DeprecationWarning, "The default seed", "test"),))
    with pytest.warns(UserWarning, match="default seed argument in reset should be `None`"):  # other category
        check_env(_SeedDefaultToy())


def test_info_keys_are_documented():
    assert set(INFO_KEYS) == {"task", "admissible_actions", "feedback", "anchor", "won", "score", "task_type"}
    assert all(INFO_KEYS.values())


def test_split_fingerprints_name_the_tasks_not_where_they_are_stored(small_split, tmp_path):
    """Equal tasks, equal fingerprints; other tasks (a copy with one game changed, another catalog), others."""
    import shutil

    from serl_bench.envs.alfworld._games import user_split
    from serl_bench.envs.webshop._env import WebShopEnv

    first = small_split.tasks[0]
    copy = tmp_path / "copy"
    shutil.copytree(first.path.rsplit("/", 1)[0], copy)
    moved = user_split(str(copy))
    assert moved.tasks[0].content_hash() == first.content_hash()
    (copy / "game.tw-pddl").write_text((copy / "game.tw-pddl").read_text().replace('"solvable"', '"solvable" '))
    assert user_split(str(copy)).tasks[0].content_hash() != first.content_hash()
    assert len(small_split.fingerprint) == 64

    small, other = WebShopEnv(num_products=200), WebShopEnv(num_products=300)
    assert small.split.fingerprint == WebShopEnv(num_products=200).split.fingerprint
    assert small.split.fingerprint != other.split.fingerprint
    assert WebShopEnv("eval", num_products=200).split.fingerprint != small.split.fingerprint
