"""``--config FILE`` for eval, run and experiment: TOML, YAML or JSON settings by field name; flags win; a
run's own config.json runs it again."""

import json

import pytest

from tests.conftest import CLASSIC_LOOP, assert_one_line_error, run_in_process


def serl_bench(*args):
    return run_in_process(*args)


def test_an_eval_takes_its_settings_from_a_toml_file_and_flags_win(small_split, tmp_path):
    config = tmp_path / "eval.toml"
    config.write_text('method = "random"\nenv = "alfworld"\nepisodes = 3\nseed = 5\n\n'
                      '[env_args]\ngames_per_type = 2\n')
    done = serl_bench("eval", "--config", config, "--episodes", "2", "--out", tmp_path / "e", "--no-progress")
    assert done.returncode == 0, done.stderr
    stored = json.loads((tmp_path / "e" / "config.json").read_text())
    assert (stored["method"], stored["episodes"], stored["seed"], stored["env_args"]) == \
        ("random", 2, 5, {"games_per_type": 2})  # episodes from the flag, the rest from the file


def test_yaml_and_key_value_flags_merge_with_the_file(small_split, tmp_path):
    config = tmp_path / "eval.yaml"
    config.write_text("method: noisy-expert\nenv: alfworld\nepisodes: 2\nenv_args: {games_per_type: 2}\n"
                      "method_args: {epsilon: 0.5}\n")
    done = serl_bench("eval", "--config", config, "--method-arg", "epsilon=0.25", "--out", tmp_path / "y",
                      "--no-progress")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "y" / "config.json").read_text())["method_args"]["epsilon"] == 0.25


def test_a_runs_config_json_runs_it_again(small_split, random_model, tmp_path):
    settings = ["--method", "grpo", "--env", "alfworld", "--model", random_model, "--split", "procgen-test",
                "--eval-split", "procgen-test", "--env-arg", "games_per_type=2", "--updates", "1",
                "--tasks-per-update", "1", "--group-size", "2", "--max-steps", "2", "--max-new-tokens", "4",
                "--eval-episodes", "2", "--no-eval-before", "--no-drop-zero-advantage", "--history", "1",
                *[f"--{k.replace('_', '-')}={v}" for k, v in CLASSIC_LOOP.items() if not isinstance(v, bool)],
                "--no-progress"]
    first = serl_bench("run", *settings, "--out", tmp_path / "a")
    assert first.returncode == 0, first.stderr
    again = serl_bench("run", "--config", tmp_path / "a" / "config.json", "--out", tmp_path / "b", "--no-progress")
    assert again.returncode == 0, again.stderr
    a, b = (json.loads((tmp_path / x / "config.json").read_text()) for x in "ab")
    assert a == b
    assert (tmp_path / "a" / "episodes.jsonl").read_text() == (tmp_path / "b" / "episodes.jsonl").read_text()
    assert_one_line_error(serl_bench("eval", "--config", tmp_path / "a" / "config.json"),
                          "is the configuration of `serl-bench run`, not of `serl-bench eval`")


@pytest.mark.parametrize("name, text, fragment", [
    ("x.toml", "episodes = 3\ncolour = 'red'\n", "'colour' is not a setting of `serl-bench eval`"),
    ("x.toml", "episodes = 'three'\n", "episodes must be a whole number, got 'three'"),
    ("x.toml", "episodes = [\n", "is not valid TOML"),
    ("x.yaml", "episodes: [1\n", "is not valid YAML"),
    ("x.json", "[1, 2]", "holds a list, not a table of settings"),
    ("x.ini", "episodes=3", "use a .toml, .yaml or .json file"),
    ("x.toml", "env_args = 3\n", "env_args must be a table of KEY = VALUE"),
])
def test_a_bad_config_file_is_one_line_and_writes_nothing(tmp_path, name, text, fragment):
    (tmp_path / name).write_text(text)
    out = tmp_path / "out"
    assert_one_line_error(serl_bench("eval", "--method", "random", "--config", tmp_path / name, "--out", out), fragment)
    assert not out.exists()


def test_a_missing_config_file_is_one_line(tmp_path):
    assert_one_line_error(serl_bench("eval", "--method", "random", "--config", tmp_path / "nope.toml"),
                          "nope.toml: cannot read it")


def test_a_required_setting_given_nowhere_is_one_line(tmp_path):
    (tmp_path / "x.toml").write_text("episodes = 2\n")
    assert_one_line_error(serl_bench("eval", "--config", tmp_path / "x.toml"), "--method is required")
    assert_one_line_error(serl_bench("run"), "--method is required")
