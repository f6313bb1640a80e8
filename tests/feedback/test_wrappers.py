import gymnasium as gym
import pytest

from serl_bench import AgentStep
from serl_bench.errors import ConfigError
from serl_bench.feedback import FeedbackSpec, GroupEnv, HindsightWrapper, Source, build_contexts

SMALL = {"games_per_type": 2}


def _expert_episode(env, task_id, seed=0):
    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    while True:
        action = env.unwrapped.expert_action()
        obs, reward, terminated, truncated, info = env.step(AgentStep(action, prompt=f"p:{obs}", response=action))
        if terminated or truncated:
            return info


def test_single_env_wrapper_returns_contexts_at_the_end(small_split):
    spec = FeedbackSpec.parse("immediate_feedback+successful_trajectory")
    env = HindsightWrapper(gym.make("serl/ALFWorld-v0", **SMALL), spec)
    first = _expert_episode(env, 0)
    trajectory, contexts = first["trajectory"], first["hindsight"]
    assert trajectory.won and len(contexts) == trajectory.length
    assert trajectory.steps[0].prompt.startswith("p:-= Welcome") and trajectory.steps[0].response == "look"
    assert all(c is None for c in contexts)  # no earlier success yet, and '+' requires every source
    second = _expert_episode(env, 0, seed=1)
    assert all(c.sources == (Source.IMMEDIATE_FEEDBACK, Source.SUCCESSFUL_TRAJECTORY)  # the first episode
               for c in second["hindsight"])
    partial = HindsightWrapper(gym.make("serl/ALFWorld-v0", **SMALL),
                               FeedbackSpec.parse("immediate_feedback+successful_trajectory", all_required=False))
    assert all(c.sources == (Source.IMMEDIATE_FEEDBACK,) for c in _expert_episode(partial, 0)["hindsight"])


def test_single_env_wrapper_refuses_anchor_granularity():
    with pytest.raises(ConfigError, match="use GroupEnv"):
        HindsightWrapper(gym.make("serl/ALFWorld-v0", **SMALL), FeedbackSpec.parse("next_observation", "anchor"))


def test_group_env_matches_the_engine_on_the_same_group(small_split):
    spec = FeedbackSpec.parse("successful_trajectory|immediate_feedback", "anchor")
    group_env = GroupEnv(lambda: gym.make("serl/ALFWorld-v0", **SMALL), size=3, spec=spec)
    obs, infos = group_env.reset(seed=7, options={"task_id": 5})
    assert len({i["task_id"] for i in infos}) == 1 and len(set(obs)) == 1
    steps = 0
    while not group_env.done:
        actions = [env.unwrapped.expert_action() if k else "look" for k, env in enumerate(group_env.envs)]
        obs, rewards, terminated, truncated, infos = group_env.step(actions)
        steps += 1
        if not group_env.done:
            assert all("hindsight" not in i for i in infos)
    group = group_env.group
    assert [t.won for t in group.trajectories] == [False, True, True]
    expected = build_contexts(group, spec)
    assert [[c.text for c in i["hindsight"]] for i in infos] == [[c.text for c in row] for row in expected]
    assert group.trajectories[0].length == steps == 50


def test_group_env_pays_finished_episodes_nothing_more(small_split):
    group_env = GroupEnv(lambda: gym.make("serl/ALFWorld-v0", **SMALL, max_episode_steps=5), size=2,
                         spec=FeedbackSpec.parse("next_observation"))
    group_env.reset(seed=0, options={"task_id": 6})
    total = [0.0, 0.0]
    while not group_env.done:
        actions = [group_env.envs[0].unwrapped.expert_action(), "look"]
        _, rewards, *_ = group_env.step(actions)
        total = [a + b for a, b in zip(total, rewards, strict=True)]
    assert total == [float(group_env.group.trajectories[0].won), 0.0]
    with pytest.raises(ConfigError, match="needs 2 actions"):
        group_env.step(["look"])
