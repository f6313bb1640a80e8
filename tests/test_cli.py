"""The command line, run as users run it: a subprocess, one-line errors, exit status 2."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import assert_one_line_error


def serl_bench(*args, env=None):
    return subprocess.run([sys.executable, "-m", "serl_bench", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_version_and_listings():
    assert serl_bench("--version").stdout.startswith("serl-bench ")
    envs = json.loads(serl_bench("envs", "--json").stdout)
    assert envs[0]["name"] == "alfworld" and envs[0]["id"] == "serl/ALFWorld-v0"
    assert envs[0]["splits"]["procgen-test"] == "procedural" and len(envs[0]["task_types"]) == 6
    methods = {m["name"]: m for m in json.loads(serl_bench("methods", "--json").stdout)}
    assert {"random", "expert"} <= set(methods)
    assert "procgen-test [procedural]" in serl_bench("envs").stdout
    assert "random" in serl_bench("methods").stdout


def test_eval_writes_a_run_directory(small_split, tmp_path):
    out = tmp_path / "run"
    done = serl_bench("eval", "--method", "expert", "--episodes", "3", "--env-arg", "games_per_type=2",
                      "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "success 100.0 %" in done.stdout and f"run directory: {out}" in done.stdout
    assert {p.name for p in out.iterdir()} == {"config.json", "episodes.jsonl", "transcripts.jsonl", "results.json"}
    again = serl_bench("eval", "--method", "expert", "--episodes", "3", "--env-arg", "games_per_type=2",
                       "--out", str(out), "--no-progress")
    assert again.returncode == 2 and "pass --resume" in again.stderr
    resumed = serl_bench("eval", "--method", "expert", "--episodes", "3", "--env-arg", "games_per_type=2",
                         "--out", str(out), "--resume", "--no-progress")
    assert resumed.returncode == 0 and len((out / "episodes.jsonl").read_text().splitlines()) == 3




@pytest.mark.parametrize("args, fragments", [
    (["eval", "--method", "nope"], ["unknown method 'nope'", "valid: expert, gigpo, grpo, noisy-expert, opd, ppo",
                                    "random, react, reflexion, rft, rloo, serl, sft"]),
    (["eval", "--method", "random", "--env", "minecraft"], ["unknown env 'minecraft'", "alfworld"]),
    (["eval", "--method", "random", "--split", "dev"], ["unknown ALFWorld split 'dev'", "procgen-test"]),
    (["eval", "--method", "random", "--episodes", "many"], ["--episodes", "invalid int value"]),
    (["eval", "--method", "random", "--method-arg", "oops"], ["--method-arg takes KEY=VALUE"]),
    (["eval"], ["--method"]),
    (["train"], ["invalid choice"]),
])
def test_bad_input_gets_one_line(args, fragments):
    assert_one_line_error(serl_bench(*args), *fragments)


def test_missing_official_data_says_how_to_get_it(tmp_path):
    assert_one_line_error(serl_bench("eval", "--method", "random", "--split", "train", env={"ALFWORLD_DATA": ""}),
                    "alfworld-download", "procgen-test")
    assert_one_line_error(serl_bench("eval", "--method", "random", "--split", "valid_seen",
                               env={"ALFWORLD_DATA": str(tmp_path / "missing")}),
                    f"no official ALFWorld split at {tmp_path / 'missing'}")


def test_an_unreadable_game_file_is_named(tmp_path):
    bad = tmp_path / "game.tw-pddl"
    bad.write_text("{truncated")
    assert_one_line_error(serl_bench("eval", "--method", "random", "--split", str(bad)), f"cannot read game file {bad}")


def test_feedback_writes_every_steps_context(small_split, tmp_path):
    out = tmp_path / "contexts.jsonl"
    done = serl_bench("feedback", "--env", "alfworld", "--group-size", "2", "--tasks", "2", "--feedback",
                      "successful_trajectory|immediate_feedback", "--granularity", "anchor",
                      "--env-arg", "games_per_type=2", "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["task_id"] for r in rows} == {g.task_id for g in small_split.tasks[:2]}
    assert all(r["context"].startswith("Candidate actions tried from this state:") for r in rows)
    assert all(r["teacher_prompt"].endswith(r["context"] + "\n\nCorrectly solve the current task.\n") for r in rows)
    assert f"{len(rows)} steps" in done.stdout and "built in" in done.stdout and str(out) in done.stdout


@pytest.mark.parametrize("args, fragments", [
    (["--feedback", "hints"], ["unknown feedback source 'hints'", "valid: current_trajectory"]),
    (["--feedback", "next_observation+future_trajectory|current_trajectory"], ["mixes '+' and '|'"]),
    (["--granularity", "episode"], ["invalid choice: 'episode'", "anchor"]),
    (["--judge-url", "http://127.0.0.1:9/v1"], ["--judge-url and --judge-model go together"]),
    (["--policy", "expert,oracle"], ["unknown method 'oracle'"]),
])
def test_feedback_bad_input_gets_one_line(args, fragments):
    assert_one_line_error(serl_bench("feedback", *args, "--no-progress"), *fragments)
