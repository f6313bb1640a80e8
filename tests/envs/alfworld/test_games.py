import hashlib
import json
import os
from pathlib import Path

import gymnasium as gym
import pytest

from serl_bench.envs.alfworld import TASK_TYPES, generate_game
from serl_bench.envs.alfworld._engine import make_textworld_env
from serl_bench.envs.alfworld._games import (
    official_split,
    play_expert,
    procgen_split,
    user_split,
    write_game,
)
from serl_bench.errors import DataNotFoundError, GameFileError


def _problem_hashes(split):
    return {hashlib.sha256(json.loads(Path(g.path).read_text())["pddl_problem"].encode()).hexdigest()
            for g in split.tasks}


def test_split_covers_every_task_type_round_robin(small_split):
    assert [g.task_type for g in small_split.tasks[:6]] == list(TASK_TYPES)
    assert small_split.source == "procedural" and len(small_split.tasks) == 12
    for game in small_split.tasks:
        data = json.loads(Path(game.path).read_text())
        assert data["solvable"] is True and data["walkthrough"]
        assert (Path(game.path).parent / "traj_data.json").exists()


def test_split_is_cached_and_regenerated_only_when_missing(small_split):
    stamps = {g.path: os.stat(g.path).st_mtime_ns for g in small_split.tasks}
    again = procgen_split("procgen-test", 2)
    assert again == small_split
    assert {g.path: os.stat(g.path).st_mtime_ns for g in again.tasks} == stamps
    victim = Path(small_split.tasks[4].path)
    content = victim.read_bytes()
    victim.unlink()
    procgen_split("procgen-test", 2)
    assert victim.read_bytes() == content  # deterministic regeneration


def test_progress_is_reported_only_while_generating(small_split):
    calls = []
    procgen_split("procgen-test", 2, progress=lambda done, total: calls.append((done, total)))
    assert calls == []  # all cached
    procgen_split("procgen-test", 3, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6) and [d for d, _ in calls] == list(range(1, 7))


def test_smaller_splits_are_prefixes(small_split):
    one = procgen_split("procgen-test", 1)
    assert list(one.tasks) == [g for g in small_split.tasks[:6]]


@pytest.mark.slow
def test_train_and_test_are_disjoint(small_split):
    train = procgen_split("procgen-train", 2)
    assert not _problem_hashes(train) & _problem_hashes(small_split)
    assert not {g.task_id for g in train.tasks} & {g.task_id for g in small_split.tasks}


# ----------------------------------------------------------------------------------------- official


def _official_tree(root: Path) -> dict[str, str]:
    """A small json_2.1.1 tree in the official layout, with what alfworld skips mixed in."""
    good = {}
    for i, task_type in enumerate(TASK_TYPES[:3]):
        game = generate_game(task_type, 100 + i)
        folder = root / "json_2.1.1" / "valid_seen" / game.name.replace("trial_S", "trial_T2019")
        walkthrough = play_expert(make_textworld_env(), str(write_game(root / "tmp" / str(i), game.problem,
                                                                         game.traj_data, game.task_desc, None)))
        write_game(folder, game.problem, game.traj_data, game.task_desc, walkthrough or [])
        good[folder.relative_to(root / "json_2.1.1" / "valid_seen").as_posix()] = task_type
    base = generate_game("pick_and_place_simple", 200)
    skipped = {
        "pick_and_place_with_movable_recep-Apple-Bowl-Fridge-1/trial_T1": {
            "task_type": "pick_and_place_with_movable_recep"},
        "pick_heat_then_place_in_recep-AppleSliced-None-Fridge-2/trial_T1": {},
        "pick_and_place_simple-Mug-None-Desk-3/trial_T1": {"solvable": False},
        "pick_and_place_simple-Mug-None-Desk-4/trial_T1": {"solvable": "missing"},
    }
    for name, change in skipped.items():
        folder = root / "json_2.1.1" / "valid_seen" / name
        traj = {**base.traj_data, **{k: v for k, v in change.items() if k == "task_type"}}
        write_game(folder, base.problem, traj, base.task_desc, ["look"])
        if "solvable" in change:
            data = json.loads((folder / "game.tw-pddl").read_text())
            if change["solvable"] == "missing":
                del data["solvable"]
            else:
                data["solvable"] = False
            (folder / "game.tw-pddl").write_text(json.dumps(data))
    lonely = root / "json_2.1.1" / "valid_seen" / "pick_and_place_simple-Pen-None-Desk-5" / "trial_T1"
    lonely.mkdir(parents=True)
    (lonely / "traj_data.json").write_text(json.dumps(base.traj_data))  # no game file: skipped
    return good


def test_official_loader_keeps_what_alfworld_keeps(tmp_path, monkeypatch):
    good = _official_tree(tmp_path)
    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path))
    split = official_split("valid_seen")
    assert split.source == "official"
    assert {g.task_id: g.task_type for g in split.tasks} == good
    env = gym.make("serl/ALFWorld-v0", split="valid_seen")
    obs, info = env.reset(seed=0)
    assert info["split"] == "valid_seen" and "Your task is to" in obs


def test_official_splits_need_their_data(tmp_path, monkeypatch):
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="alfworld-download.*procgen-test"):
        official_split("train")
    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="no official ALFWorld split at .*nowhere"):
        official_split("valid_unseen")


def test_an_unreadable_official_game_is_named(tmp_path, monkeypatch):
    good = _official_tree(tmp_path)
    broken = tmp_path / "json_2.1.1" / "valid_seen" / next(iter(good)) / "game.tw-pddl"
    broken.write_text("{not json")
    with pytest.raises(GameFileError, match=f"cannot read {broken}"):
        official_split("valid_seen", str(tmp_path))


# --------------------------------------------------------------------------------------------- user

HANDWRITTEN = """; a kitchen written by hand: short ids, only the types it needs
(define (problem tiny_kitchen)
  (:domain alfred)
  (:objects
    agent1 - agent
    AppleType MugType KnifeType ButterKnifeType - otype
    CounterTopType FridgeType MicrowaveType SinkBasinType - rtype
    Apple_bar_1 - object
    Mug_bar_1 - object
    CounterTop_bar_1 Fridge_bar_1 Microwave_bar_1 - receptacle
    start l1 l2 l3 - location)
  (:init
    (atLocation agent1 start)
    (receptacleType CounterTop_bar_1 CounterTopType) (receptacleAtLocation CounterTop_bar_1 l1)
    (receptacleType Fridge_bar_1 FridgeType) (receptacleAtLocation Fridge_bar_1 l2) (openable Fridge_bar_1)
    (receptacleType Microwave_bar_1 MicrowaveType) (receptacleAtLocation Microwave_bar_1 l3)
    (openable Microwave_bar_1)
    (objectType Apple_bar_1 AppleType) (pickupable Apple_bar_1) (heatable Apple_bar_1)
    (inReceptacle Apple_bar_1 Fridge_bar_1) (objectAtLocation Apple_bar_1 l2)
    (objectType Mug_bar_1 MugType) (pickupable Mug_bar_1) (inReceptacle Mug_bar_1 CounterTop_bar_1)
    (objectAtLocation Mug_bar_1 l1)
    (canContain CounterTopType AppleType) (canContain CounterTopType MugType)
    (canContain FridgeType AppleType) (canContain MicrowaveType AppleType))
  (:goal (exists (?r - receptacle) (exists (?o - object) (and
    (heatable ?o) (objectType ?o AppleType) (receptacleType ?r CounterTopType) (isHot ?o)
    (inReceptacle ?o ?r))))))
"""


def test_a_handwritten_problem_loads_and_plays(tmp_path):
    problem = tmp_path / "tiny.pddl"
    problem.write_text(HANDWRITTEN)
    split = user_split(str(problem))
    assert split.source == "user" and [g.task_type for g in split.tasks] == ["pick_heat_then_place_in_recep"]
    env = gym.make("serl/ALFWorld-v0", split=str(problem))
    obs, info = env.reset(seed=0)
    assert info["task"] in ("put a hot apple in countertop.", "heat some apple and put it in countertop.")
    for command in ("go to fridge 1", "open fridge 1", "take apple 1 from fridge 1", "go to microwave 1",
                    "heat apple 1 with microwave 1", "go to countertop 1", "move apple 1 to countertop 1"):
        assert command in info["admissible_actions"], (command, info["admissible_actions"])
        obs, reward, terminated, truncated, info = env.step(command)
    assert terminated and reward == 1.0 and info["won"]


def test_the_expert_plays_user_problems_too(tmp_path):
    (tmp_path / "tiny.pddl").write_text(HANDWRITTEN)
    game = user_split(str(tmp_path)).tasks[0]
    assert play_expert(make_textworld_env(), game.path) is not None


def test_a_folder_of_game_files(small_split, tmp_path):
    for game in small_split.tasks[:3]:
        source = Path(game.path).parent
        target = tmp_path / source.parent.name
        target.mkdir()
        for name in ("game.tw-pddl", "traj_data.json"):
            (target / name).write_bytes((source / name).read_bytes())
    split = user_split(str(tmp_path))
    assert sorted(g.task_type for g in split.tasks) == sorted(g.task_type for g in small_split.tasks[:3])
    assert all(g.path.startswith(str(tmp_path)) for g in split.tasks)  # played in place, not copied


@pytest.mark.parametrize("text, message", [
    (HANDWRITTEN.rstrip()[:-3], "fast-downward cannot translate"),  # truncated
    (HANDWRITTEN.replace("(objectAtLocation Mug_bar_1 l1)", "(objectAtLocation Ghost_bar_1 l1)"),
     "cannot play .*bad.pddl: its initial state is inconsistent"),
    ("(define (problem x) (:domain alfred) (:objects) (:init))", "has no \\(:goal"),
    (HANDWRITTEN.replace("(isHot ?o)", "").replace("heatable", "moveable").replace("CounterTopType)", "Foo)"),
     "cannot tell which ALFWorld task"),
])
def test_bad_user_problems_get_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.pddl"
    path.write_text(text)
    with pytest.raises(GameFileError, match=message) as info:
        user_split(str(path))
    assert "\n" not in str(info.value)


def test_a_game_file_without_traj_data_keeps_its_task(small_split, tmp_path):
    game = json.loads(Path(small_split.tasks[3].path).read_text())
    (tmp_path / "game.tw-pddl").write_text(json.dumps(game))  # no traj_data.json beside it
    split = user_split(str(tmp_path / "game.tw-pddl"))
    assert split.tasks[0].task_type == small_split.tasks[3].task_type
    env = gym.make("serl/ALFWorld-v0", split=str(tmp_path / "game.tw-pddl"))
    _, info = env.reset(seed=0)
    assert f"Your task is to: {info['task']}" in game["grammar"]


def test_a_game_file_that_is_not_an_object_is_named(tmp_path):
    path = tmp_path / "game.tw-pddl"
    path.write_text("[1, 2]")
    with pytest.raises(GameFileError, match=f"game file {path} is not a JSON object"):
        user_split(str(path))


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(GameFileError, match="no game.tw-pddl or .pddl"):
        user_split(str(tmp_path))
