"""Fuzzing both envs' ``step`` with hostile actions: empty, 100 kB, unicode (RTL, emoji, combining marks),
control characters and NUL, injection strings, near misses of the admissible actions, and non-strings.

Every action must cost exactly one step and come back with a text observation and non-empty feedback,
never an exception. By default a short run (300 actions per env); the ``slow`` run sends 10,000 per env.
"""

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import serl_bench.envs  # noqa: F401  (registers the envs)

INJECTIONS = ["'; DROP TABLE products; --", "$(rm -rf /)", "`reboot`", "<script>alert(1)</script>",
              "{0}{1}{__class__}", "%s%s%n", "../../../../etc/passwd", "\\x00\\n", "search[", "click[",
              "click[]", "search[]", "]]]][[[[", "click[" + "]" * 1000, "search[" * 500, "{\"action\": 1}",
              "click[buy now", "click [buy now]", "CLICK[BUY NOW]", "search[\u202eevil\u202c]", "go to\x00 desk 1",
              "take " * 5000, "\ufeffclick[back to search]", "click[\u0000]", "look\r\nlook", "\t\t\t"]
RTL_EMOJI = st.sampled_from(["\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627", "\U0001f6d2\U0001f45f",
                             "e\u0301\u0301\u0301", "\u202e\u202d", "\U0001f468\u200d\U0001f469\u200d\U0001f467"])
CONTROL = st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Cs", "Zl", "Zp"]), max_size=50)


def near_misses(admissible: list[str]) -> st.SearchStrategy:
    """An admissible action, changed a little: case, whitespace, a bracket or a character dropped or added."""
    def mutate(action: str, how: int, at: int) -> str:
        at = at % (len(action) + 1)
        return [action.upper(), f"  {action}  ", action.replace("[", " [", 1), action.rstrip("]"),
                action[:at] + action[at + 1:], action[:at] + "\x00" + action[at:], action + action,
                action.replace(" ", "  "), action[:at]][how]
    return st.builds(mutate, st.sampled_from(admissible), st.integers(0, 8), st.integers(0, 10_000))


def actions(admissible: list[str]) -> st.SearchStrategy:
    return st.one_of(
        st.just(""), st.just("a" * 100_000), st.just("click[" + "x" * 100_000 + "]"), st.text(max_size=200),
        RTL_EMOJI, CONTROL, st.sampled_from(INJECTIONS), near_misses(admissible),
        st.none(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=20), st.lists(st.text(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2), st.booleans())


ENVS = {"alfworld": dict(id="serl/ALFWorld-v0", split="procgen-test", games_per_type=2),
        "webshop": dict(id="serl/WebShop-v0", split="test")}


@pytest.fixture(scope="module", params=list(ENVS))
def env(request, small_split):
    kwargs = dict(ENVS[request.param])
    made = gym.make(kwargs.pop("id"), max_episode_steps=10**9, disable_env_checker=True, **kwargs)
    made.reset(seed=0)
    yield made
    made.close()


def _fuzz(env, count: int) -> None:
    _, info = env.reset(seed=0)
    admissible = list(info.get("admissible_actions") or ["look"])

    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(action=actions(admissible))
    def one_step(action):
        before = env.unwrapped._steps
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.unwrapped._steps == before + 1, f"{action!r} did not cost exactly one step"
        assert isinstance(obs, str) and isinstance(reward, float)
        assert isinstance(info.get("feedback"), str) and info["feedback"].strip(), f"no feedback for {action!r}"
        if terminated or truncated:
            env.reset(seed=before)

    one_step()


def test_hostile_actions_cost_one_step_and_get_feedback(env):
    _fuzz(env, 300)


@pytest.mark.slow
def test_ten_thousand_hostile_actions_per_env(env):
    _fuzz(env, 10_000)
