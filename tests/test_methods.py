import sys
import textwrap

import pytest

from serl_bench import Agent, AgentStep, register_method
from serl_bench.errors import ConfigError, UnknownNameError
from serl_bench.methods import _REGISTRY, build_method, get_method, list_methods


@pytest.fixture
def registry_snapshot():
    saved = dict(_REGISTRY)
    yield
    _REGISTRY.clear()
    _REGISTRY.update(saved)


def test_bundled_baselines_are_registered():
    names = {m.name: m for m in list_methods()}
    assert {"random", "expert"} <= set(names)
    assert names["random"].source == "bundled" and names["random"].kind == "non-learning"


def test_registration_records_every_argument(registry_snapshot):
    @register_method("greedy-test", kind="prompting", summary="test method")
    class Greedy(Agent):
        def __init__(self, temperature: float = 0.0, history: int = 2):
            self.temperature = temperature

        def act(self, observation, info):
            return AgentStep(info["admissible_actions"][0])

    agent, args = build_method("greedy-test", history=5)
    assert isinstance(agent, Greedy) and args == {"temperature": 0.0, "history": 5}
    assert get_method("greedy-test").summary == "test method"
    with pytest.raises(ConfigError, match="unexpected keyword argument 'model'.*temperature=0.0, history=2"):
        build_method("greedy-test", model="x")


def test_a_name_cannot_be_taken_twice(registry_snapshot):
    with pytest.raises(ConfigError, match="already registered"):
        register_method("random")(lambda: None)


def test_unknown_methods_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match="unknown method 'nope'; valid: .*expert.*random"):
        get_method("nope")


def test_arguments_must_be_recordable(registry_snapshot):
    register_method("takes-anything")(lambda thing=None: None)
    with pytest.raises(ConfigError, match="JSON values"):
        build_method("takes-anything", thing=object())


def test_third_party_methods_arrive_through_entry_points(tmp_path, monkeypatch, registry_snapshot):
    """A fake installed distribution on sys.path declares a method in the serl_bench.methods group."""
    (tmp_path / "plugin_mod.py").write_text(textwrap.dedent("""
        from serl_bench import Agent, AgentStep

        class Always(Agent):
            '''Always the last admissible action.'''
            def __init__(self, which: int = -1):
                self.which = which
            def act(self, observation, info):
                return AgentStep(info["admissible_actions"][self.which])
    """))
    dist = tmp_path / "serl_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: serl-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[serl_bench.methods]\nalways-last = plugin_mod:Always\n"
                                           "broken = plugin_mod:DoesNotExist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("serl_bench.methods._loaded", False)
    names = {m.name: m for m in list_methods()}
    assert names["always-last"].source == "plugin_mod"
    assert names["always-last"].summary == "Always the last admissible action."
    assert "broken" not in names
    agent, args = build_method("always-last")
    assert args == {"which": -1}
    sys.modules.pop("plugin_mod", None)


_TRAINING_PLUGIN = '''
from serl_bench.training import TrainingMethod

class ScaledReward(TrainingMethod):
    """Raw episode reward times a scale, on every token.

    Args:
        scale: multiplies each episode's reward.
    """

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def step_advantages(self, group):
        return [[self.scale * t.total_reward] * t.length for t in group.trajectories]
'''


@pytest.fixture
def training_plugin(tmp_path, monkeypatch, registry_snapshot):
    """A fake installed distribution declaring a *training* method in the serl_bench.methods group."""
    (tmp_path / "train_plugin_mod.py").write_text(_TRAINING_PLUGIN)
    dist = tmp_path / "serl_train_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: serl-train-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[serl_bench.methods]\nscaled-reward = train_plugin_mod:ScaledReward\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("serl_bench.methods._loaded", False)
    yield
    sys.modules.pop("train_plugin_mod", None)


def test_third_party_training_methods_get_their_settings_recorded(training_plugin):
    spec = get_method("scaled-reward")
    assert spec.kind == "rl" and spec.source == "train_plugin_mod"
    assert spec.arguments() == [{"name": "scale", "default": 1.0, "required": False,
                                 "help": "multiplies each episode's reward."}]
    method, args = build_method("scaled-reward", scale=3)
    assert method.scale == 3.0 and args == {"scale": 3.0}  # an int for a float setting becomes a float
    with pytest.raises(ConfigError, match="scale must be a number, got 'x'"):
        build_method("scaled-reward", scale="x")


@pytest.mark.slow
def test_a_third_party_training_method_trains_through_the_cli(training_plugin, tmp_path, small_split, looking_model):
    import json

    from serl_bench.cli import main

    out = tmp_path / "run"
    code = main(["run", "--method", "scaled-reward", "--method-arg", "scale=2", "--model", str(looking_model),
                 "--env", "alfworld", "--prompt", "standard", "--no-eval-before", "--split", "procgen-test",
                 "--env-arg", "games_per_type=2", "--updates", "1",
                 "--tasks-per-update", "1", "--group-size", "2", "--max-steps", "2", "--max-new-tokens", "4",
                 "--eval-episodes", "1", "--history", "0", "--out", str(out), "--no-progress"])
    assert code == 0
    record = json.loads((out / "results.json").read_text())
    assert record["method"] == "scaled-reward" and record["method_args"] == {"scale": 2.0}


def test_training_methods_list_their_settings_with_help():
    expected = {"serl": {"lambda0", "decay_steps", "weight_clip", "teacher_sync_interval"},
                "gigpo": {"gamma", "step_advantage_weight"}, "ppo": {"gamma", "gae_lambda", "value_coef"},
                "opd": {"distill_coef", "teacher_sync_interval"}}
    for name, names in expected.items():
        arguments = get_method(name).arguments()
        assert {a["name"] for a in arguments} >= names, name
        assert all(a["help"] for a in arguments), name
