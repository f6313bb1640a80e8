"""User PDDL problems whose objects are not named in ALFRED's ``Type_bar_...`` style still play.

alfworld's demangler shows an id without ``_bar_`` as itself plus a trailing space (``"apple1 "``), and
the engine strips every command, so before the rename no command naming such an object matched.
"""

import json

import alfworld.gen.goal_library as goal_library
import gymnasium as gym
import pytest

from serl_bench.envs.alfworld import TASK_TYPES, generate_game
from serl_bench.envs.alfworld._games import user_split, write_game
from serl_bench.envs.alfworld._naming import alfred_names, shown_name
from serl_bench.errors import GameFileError

# A kitchen with two apples and two cabinets: clean an apple, put it on the countertop. Declared in the
# order A2 A1, CAB2 CAB1, so that the numbering shows whether it follows the names' own numbers.
KITCHEN = """; written by hand
(define (problem sink_kitchen)
  (:domain alfred)
  (:objects
    agent1 - agent
    AppleType MugType - otype
    CabinetType CounterTopType FridgeType SinkBasinType - rtype
    {A2} {A1} {MUG} - object
    {CAB2} {CAB1} {CT} {FR} {SB} - receptacle
    start l1 l2 l3 l4 l5 - location)
  (:init
    (atLocation agent1 start)
    (receptacleType {CAB1} CabinetType) (receptacleAtLocation {CAB1} l1) (openable {CAB1})
    (receptacleType {CAB2} CabinetType) (receptacleAtLocation {CAB2} l2) (openable {CAB2})
    (receptacleType {CT} CounterTopType) (receptacleAtLocation {CT} l3)
    (receptacleType {FR} FridgeType) (receptacleAtLocation {FR} l4) (openable {FR})
    (receptacleType {SB} SinkBasinType) (receptacleAtLocation {SB} l5)
    (objectType {A1} AppleType) (pickupable {A1}) (cleanable {A1})
    (inReceptacle {A1} {FR}) (objectAtLocation {A1} l4)
    (objectType {A2} AppleType) (pickupable {A2}) (cleanable {A2})
    (inReceptacle {A2} {CAB2}) (objectAtLocation {A2} l2)
    (objectType {MUG} MugType) (pickupable {MUG}) (isReceptacleObject {MUG}) (cleanable {MUG})
    (inReceptacle {MUG} {CT}) (objectAtLocation {MUG} l3)
    (canContain CabinetType AppleType) (canContain CabinetType MugType)
    (canContain CounterTopType AppleType) (canContain CounterTopType MugType)
    (canContain FridgeType AppleType) (canContain SinkBasinType AppleType) (canContain SinkBasinType MugType))
  (:goal {GOAL}))
"""
CLEAN_GOAL = """(exists (?r - receptacle) (exists (?o - object) (and
    (cleanable ?o) (objectType ?o AppleType) (receptacleType ?r CounterTopType) (isClean ?o)
    (inReceptacle ?o ?r))))"""


def _alfred(cls, x, parent=None):
    coords = f"_bar__plus_0{x}_dot_50_bar__plus_00_dot_90_bar__minus_01_dot_25"
    return f"{parent}{coords}_bar_{cls}" if parent else f"{cls}{coords}"


STYLES = {  # names, and what the game must call A1, A2, CAB1, CAB2
    "lowercase-digits": (
        dict(A1="apple1", A2="apple2", MUG="mug1", CAB1="cabinet1", CAB2="cabinet2", CT="countertop1",
             FR="fridge1", SB="sinkbasin1"),
        dict(A1="apple 1", A2="apple 2", CAB1="cabinet 1", CAB2="cabinet 2")),  # their own numbers
    "camelcase": (
        dict(A1="Apple", A2="GreenApple", MUG="Mug", CAB1="UpperCabinet", CAB2="LowerCabinet", CT="CounterTop",
             FR="Fridge", SB="Sink"),
        dict(A1="apple 2", A2="apple 1", CAB1="cabinet 2", CAB2="cabinet 1")),  # in the order declared
    "suffixed": (
        dict(A1="Apple_a", A2="Apple_b", MUG="Mug_a", CAB1="Cabinet_a", CAB2="Cabinet_b", CT="CounterTop_a",
             FR="Fridge_a", SB="SinkBasin_a"),
        dict(A1="apple 2", A2="apple 1", CAB1="cabinet 2", CAB2="cabinet 1")),
    "hyphenated": (
        dict(A1="the-red-apple", A2="the-green-apple", MUG="the-mug", CAB1="left-cabinet", CAB2="right-cabinet",
             CT="the-counter-top", FR="the-fridge", SB="the-sink"),
        dict(A1="apple 2", A2="apple 1", CAB1="cabinet 2", CAB2="cabinet 1")),
    "alfred": (  # the demangler numbers ids in reverse sorted order: the x coordinates decide
        dict(A1=_alfred("Apple", 2), A2=_alfred("Apple", 1), MUG=_alfred("Mug", 1), CAB1=_alfred("Cabinet", 2),
             CAB2=_alfred("Cabinet", 1), CT=_alfred("CounterTop", 1), FR=_alfred("Fridge", 1),
             SB=_alfred("SinkBasin", 1, parent="Sink")),
        dict(A1="apple 1", A2="apple 2", CAB1="cabinet 1", CAB2="cabinet 2")),
}
RECEPTACLES = {"cabinet 1", "cabinet 2", "countertop 1", "fridge 1", "sinkbasin 1"}
CLEAN_TASKS = {t.format(obj="apple", recep="countertop") + "."
               for t in goal_library.gdict["pick_clean_then_place_in_recep"]["templates"]}


def _kitchen(names, goal=CLEAN_GOAL):
    return KITCHEN.format(**names, GOAL=goal)


def _play_expert(env, max_steps=50):
    for _ in range(max_steps):
        command = env.unwrapped.expert_action()
        assert command is not None, "the expert gave up"
        obs, reward, terminated, truncated, info = env.step(command)
        if terminated:
            return reward, info
    raise AssertionError("the expert did not win in 50 steps")


@pytest.mark.parametrize("style", STYLES)
def test_problems_in_any_naming_style_play(tmp_path, style):
    names, shown = STYLES[style]
    path = tmp_path / f"{style}.pddl"
    path.write_text(_kitchen(names))
    split = user_split(str(path))
    assert [g.task_type for g in split.tasks] == ["pick_clean_then_place_in_recep"]
    env = gym.make("serl/ALFWorld-v0", split=str(path))
    obs, info = env.reset(seed=0)
    assert info["task"] in CLEAN_TASKS
    assert {a.removeprefix("go to ") for a in info["admissible_actions"] if a.startswith("go to ")} == RECEPTACLES
    for receptacle in sorted(RECEPTACLES):
        obs, *_ = env.step(f"go to {receptacle}")
        assert obs.startswith(f"You arrive at {receptacle}."), obs
    env.step(f"go to {shown['CAB2']}")
    obs, *_ = env.step(f"open {shown['CAB2']}")
    assert f"you see a {shown['A2']}." in obs, obs  # each object keeps its own place and number

    env.reset(seed=0)
    reward, info = _play_expert(env)
    assert reward == 1.0 and info["won"] and info["task"] in CLEAN_TASKS


def test_alfred_style_problems_are_left_as_they_are(tmp_path):
    names, _ = STYLES["alfred"]
    assert alfred_names(_kitchen(names), tmp_path) == _kitchen(names)
    for task_type in TASK_TYPES:
        problem = generate_game(task_type, 3).problem
        assert alfred_names(problem, tmp_path) == problem


def test_renaming_is_deterministic_and_touches_only_object_names(tmp_path):
    names, _ = STYLES["lowercase-digits"]
    problem = _kitchen(names)
    renamed = alfred_names(problem, tmp_path)
    assert renamed == alfred_names(problem, tmp_path)
    assert "apple1" not in renamed and "cabinet2" not in renamed
    assert "; written by hand" in renamed and "(problem sink_kitchen)" in renamed  # comments, names kept
    assert renamed.count("AppleType") == problem.count("AppleType")  # type constants untouched
    objects = renamed.split("(:objects", 1)[1].split(")", 1)[0].split()
    shown = {shown_name(o) for o in objects if o.startswith(("Apple_", "Cabinet_", "Sink_"))}
    assert shown == {("apple", True), ("cabinet", True), ("sinkbasin", True)}


def test_a_goal_that_names_objects_follows_the_rename(tmp_path):
    """A goal naming the very objects (a traj_data.json beside it says which task it is)."""
    names, _ = STYLES["lowercase-digits"]
    goal = ("(exists (?r - receptacle) (and (receptacleType ?r CounterTopType) (isClean apple1)"
            " (inReceptacle apple1 ?r)))")
    path = tmp_path / "named_goal.pddl"
    path.write_text(_kitchen(names, goal))
    (tmp_path / "traj_data.json").write_text(json.dumps({
        "task_type": "pick_clean_then_place_in_recep",
        "pddl_params": {"object_target": "Apple", "parent_target": "CounterTop", "toggle_target": "",
                        "mrecep_target": "", "object_sliced": False}}))
    env = gym.make("serl/ALFWorld-v0", split=str(path))
    env.reset(seed=0)
    for command in ("go to fridge 1", "open fridge 1", "take apple 1 from fridge 1", "go to sinkbasin 1",
                    "clean apple 1 with sinkbasin 1", "go to countertop 1"):
        obs, reward, terminated, *_ = env.step(command)
        assert obs != "Nothing happens." and not terminated, (command, obs)
    obs, reward, terminated, _, info = env.step("move apple 1 to countertop 1")
    assert terminated and reward == 1.0 and info["task"] in CLEAN_TASKS


def test_a_game_file_with_unshowable_names_is_imported_with_its_task(tmp_path):
    names, _ = STYLES["hyphenated"]
    folder = tmp_path / "mine"
    traj = {"task_type": "pick_clean_then_place_in_recep",
            "pddl_params": {"object_target": "Apple", "parent_target": "CounterTop", "toggle_target": "",
                            "mrecep_target": "", "object_sliced": False}}
    write_game(folder, _kitchen(names), traj, "wash an apple and leave it on the counter", None)
    game = user_split(str(folder)).tasks[0]
    assert not game.path.startswith(str(tmp_path))  # played from the import cache, renamed
    env = gym.make("serl/ALFWorld-v0", split=str(folder))
    _, info = env.reset(seed=0)
    assert info["task"] == "wash an apple and leave it on the counter."
    obs, *_ = env.step("go to fridge 1")
    assert obs.startswith("You arrive at fridge 1.")


@pytest.mark.parametrize("changes, message", [
    ([("(objectType {MUG} MugType) ", "")], r"object mug1 has no \(objecttype mug1 \.\.\.\) facts"),
    ([("(receptacleType {FR} FridgeType)", "(receptacleType {FR} FridgeType) (receptacleType {FR} CabinetType)")],
     r"receptacle fridge1 has 2 different \(receptacletype fridge1 \.\.\.\) facts"),
    # the demangler appends "basin" to any id containing it: no id can show as "basinbowl 1"
    ([("MugType - otype", "MugType BasinBowlType - otype"),
      ("(objectType {MUG} MugType)", "(objectType {MUG} BasinBowlType)")],
     "objects of type basinbowltype cannot"),
])
def test_a_problem_whose_names_cannot_be_fixed_gets_a_one_line_error(tmp_path, changes, message):
    """These loaded before, and every command naming the object answered "Nothing happens."."""
    names, _ = STYLES["lowercase-digits"]
    text = _kitchen(names)
    for old, new in changes:
        assert old.format(**names) in text
        text = text.replace(old.format(**names), new.format(**names))
    path = tmp_path / "unfixable.pddl"
    path.write_text(text)
    with pytest.raises(GameFileError, match=message) as info:
        user_split(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)
