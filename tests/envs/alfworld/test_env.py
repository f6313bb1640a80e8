import gymnasium as gym
import pytest

from serl_bench.envs import INFO_KEYS
from serl_bench.errors import ConfigError, UnknownNameError


def test_info_has_the_contract_keys(alfworld_env):
    obs, info = alfworld_env.reset(seed=0, options={"task_id": 0})
    assert set(INFO_KEYS) <= set(info)
    assert info["feedback"] is None and info["won"] is False and info["score"] == 0.0
    assert obs.startswith("-= Welcome to TextWorld, ALFRED! =-") and info["task"] in obs
    assert info["task_type"] == "pick_and_place_simple"
    assert "look" in info["admissible_actions"]


def test_the_intro_lists_every_receptacle(alfworld_env):
    _, info = alfworld_env.reset(seed=0, options={"task_id": 4})
    receptacles = [a.removeprefix("go to ") for a in info["admissible_actions"] if a.startswith("go to ")]
    intro = alfworld_env.unwrapped._obs
    assert receptacles and all(f"a {r}" in intro for r in receptacles)
    assert "sinkbasinbasin" not in intro


def test_task_ids_select_games(alfworld_env):
    env = alfworld_env.unwrapped
    task_id = env.task_ids[7]
    assert alfworld_env.reset(options={"task_id": task_id})[1]["task_id"] == task_id
    assert alfworld_env.reset(options={"task_id": 7})[1]["task_id"] == task_id
    with pytest.raises(ConfigError, match="no task_id 'nope'"):
        alfworld_env.reset(options={"task_id": "nope"})


def test_seeded_reset_picks_the_same_game(alfworld_env):
    picks = {alfworld_env.reset(seed=s)[1]["task_id"] for s in (5, 5)}
    assert len(picks) == 1


def test_invalid_commands_cost_a_step_and_say_nothing_happens(alfworld_env):
    alfworld_env.reset(seed=0, options={"task_id": 0})
    for action in ["", "dance", "go to the moon", "x" * 10_000, "go to\n"]:
        obs, reward, terminated, truncated, info = alfworld_env.step(action)
        assert obs == info["feedback"] == "Nothing happens." and reward == 0.0 and not terminated
    obs, *_ , info = alfworld_env.step(None)
    assert obs == "Invalid action: expected a text command, got NoneType."


def test_max_steps_truncates():
    env = gym.make("serl/ALFWorld-v0", split="procgen-test", games_per_type=2, max_episode_steps=3)
    env.reset(seed=0, options={"task_id": 0})
    flags = [env.step("look")[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_winning_pays_once_and_terminates(alfworld_env):
    env = alfworld_env.unwrapped
    alfworld_env.reset(seed=0, options={"task_id": 1})
    rewards, info = [], {}
    for _ in range(50):
        obs, reward, terminated, truncated, info = alfworld_env.step(env.expert_action())
        rewards.append(reward)
        if terminated or truncated:
            break
    assert terminated and info["won"] and info["score"] == 1.0
    assert rewards[-1] == 1.0 and sum(rewards) == 1.0


def test_anchor_ignores_history_and_tracks_changes(alfworld_env):
    env = alfworld_env.unwrapped
    _, start = alfworld_env.reset(seed=0, options={"task_id": 0})
    assert start["anchor"] == "at the middle of the room; holding nothing"
    go = next(a for a in start["admissible_actions"] if a.startswith("go to"))
    direct = alfworld_env.step(go)[-1]["anchor"]
    alfworld_env.reset(seed=1, options={"task_id": 0})
    for action in ("look", "inventory", "dance", go, "look"):
        roundabout = alfworld_env.step(action)[-1]["anchor"]
    assert direct == roundabout == f"at {go.removeprefix('go to ')}; holding nothing"
    # Playing the expert to the end changes what the anchor says.
    alfworld_env.reset(seed=0, options={"task_id": 0})
    while not (info := alfworld_env.step(env.expert_action())[-1])["won"]:
        pass
    assert info["anchor"] != direct and " in " in info["anchor"]


def test_unknown_split_and_task_type_name_the_valid_ones():
    with pytest.raises(UnknownNameError, match="valid: .*procgen-test"):
        gym.make("serl/ALFWorld-v0", split="procgen-dev")
    with pytest.raises(UnknownNameError, match="pick_two_obj_and_place"):
        gym.make("serl/ALFWorld-v0", games_per_type=2, task_types=["juggle"])


def test_task_type_filter(small_split):
    env = gym.make("serl/ALFWorld-v0", games_per_type=2, task_types=["pick_heat_then_place_in_recep"])
    assert {g.task_type for g in env.unwrapped.split.tasks} == {"pick_heat_then_place_in_recep"}


def test_render_modes(alfworld_env, capsys):
    env = gym.make("serl/ALFWorld-v0", games_per_type=2, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    assert env.render() == obs
    human = gym.make("serl/ALFWorld-v0", games_per_type=2, render_mode="human")
    human.reset(seed=0)
    human.render()
    assert "Welcome" in capsys.readouterr().out
