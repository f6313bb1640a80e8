"""ReAct and Reflexion end to end on ALFWorld, with real (tiny or bundled) models."""

import json
import os
import subprocess
import sys

import pytest

from serl_bench.harness import EvalConfig, evaluate
from serl_bench.methods import build_method
from serl_bench.rollouts import EpisodeSpec, play, play_batch

SMALL = {"games_per_type": 2}


def test_react_plays_valid_actions_and_records_spans(alfworld_env, looking_model):
    agent, args = build_method("react", model=str(looking_model), max_new_tokens=1, dtype="float32")
    assert args["model"] == str(looking_model) and agent.model_info.source == "local"
    t = play(alfworld_env, agent, task_id=0, seed=0, max_steps=3)
    assert [s.action for s in t.steps] == ["look"] * 3 and t.error is None
    for step in t.steps:
        start, end = step.action_span
        assert step.response[start:end] == "look" and step.response == "<action>look</action>"
        assert "Admissible actions now:" in step.prompt and "look" in step.prompt
    assert "[Action: look]" in t.steps[2].prompt  # the history of earlier steps


def test_output_without_an_action_is_an_invalid_step_with_feedback(alfworld_env, tiny_model):
    agent, _ = build_method("react", model=str(tiny_model), max_new_tokens=8, dtype="float32")
    t = play(alfworld_env, agent, task_id=0, seed=0, max_steps=2)
    assert t.error is None and t.length == 2
    assert t.steps[0].action == "" and t.steps[0].action_span is None
    assert t.steps[0].feedback == "Invalid action: no <action>...</action> in the response. Nothing happens."


def test_reflexion_tries_again_with_a_lesson_and_forgets_it_for_another_task(alfworld_env, looking_model):
    agent, args = build_method("reflexion", model=str(looking_model), trials=2, max_new_tokens=25,
                               reflection_tokens=4, dtype="float32")
    attempts = play_batch([alfworld_env], [agent], [EpisodeSpec(0, 0)], max_steps=2)[0]
    assert len(attempts) == 2 and not any(a.won for a in attempts)
    assert agent.memory == ["<action>look</action>" * 4]  # its own words, however useless
    assert "Lessons from your earlier attempts" in attempts[1].steps[0].prompt
    assert "Lessons from" not in attempts[0].steps[0].prompt
    other = play_batch([alfworld_env], [agent], [EpisodeSpec(1, 0)], max_steps=1)[0]
    assert "Lessons from" not in other[0].steps[0].prompt  # task 0's lesson is forgotten on task 1
    assert len(agent.memory) == 1  # only task 1's own


def test_reflexion_episodes_count_their_trials(small_split, looking_model, tmp_path):
    config = EvalConfig(method="reflexion", env="alfworld", episodes=2, max_steps=2, env_args=SMALL,
                        model=str(looking_model), method_args={"trials": 3, "max_new_tokens": 25,
                                                               "reflection_tokens": 4, "dtype": "float32"})
    run = evaluate(config, out=tmp_path / "r", progress=False)
    episodes = [json.loads(line) for line in (run.path / "episodes.jsonl").read_text().splitlines()]
    assert [e["trials"] for e in episodes] == [3, 3] and [e["steps"] for e in episodes] == [6, 6]
    assert run.record.model.source == "local" and run.record.method_args["trials"] == 3


@pytest.mark.slow
def test_eval_react_with_the_default_model_on_this_cpu(small_split, tmp_path):
    out = tmp_path / "react"
    done = subprocess.run([sys.executable, "-m", "serl_bench", "eval", "--method", "react", "--env", "alfworld",
                           "--model", "default", "--episodes", "1", "--max-steps", "2", "--method-arg",
                           "max_new_tokens=48", "--env-arg", "games_per_type=2", "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((out / "results.json").read_text())
    from serl_bench.models._hf import fast_cpu_dtype

    model = record["model"]
    assert {k: model[k] for k in ("name", "source", "parameters")} == {
        "name": "SmolLM2-135M-Instruct", "source": "bundled", "parameters": 134515008}
    assert model["dtype"] == str(fast_cpu_dtype()).removeprefix("torch.")  # measured on this CPU
    assert model["origin"]["kind"] == "bundled" and len(model["origin"]["sha256"]) == 64  # the GGUF file's hash
    assert record["episodes"] == 1 and record["method_args"]["model"] == "default"
