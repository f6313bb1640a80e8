"""Transcripts beside the episode log (what the agent saw, said and did at each step) and `serl-bench show`."""

import json

import pytest

from serl_bench.harness import EvalConfig, evaluate
from serl_bench.training import TrainConfig, train
from serl_bench.transcripts import TEXT_LIMIT, bounded
from tests.conftest import CLASSIC_LOOP, assert_one_line_error, run_in_process

SMALL = {"games_per_type": 2}


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def llm_eval(tmp_path_factory, small_split, tiny_model):
    """An LLM agent whose every response is invalid ('aaaa...'), 2 episodes of 2 steps."""
    out = tmp_path_factory.mktemp("transcripts") / "react"
    return evaluate(EvalConfig(method="react", model=str(tiny_model), env="alfworld", env_args=SMALL, episodes=2,
                               max_steps=2, method_args={"max_new_tokens": 4}), out=out, progress=False)


def test_an_llm_eval_logs_what_the_model_saw_and_said_at_every_step(llm_eval):
    episodes, transcripts = lines(llm_eval.path / "episodes.jsonl"), lines(llm_eval.path / "transcripts.jsonl")
    assert [t["episode"] for t in transcripts] == [e["episode"] for e in episodes] == [0, 1]
    for episode, transcript in zip(episodes, transcripts, strict=True):
        steps = [s for trial in transcript["trials"] for s in trial]
        assert [s["action"] for s in steps] == episode["actions"] and len(steps) == 2
        assert (transcript["task_id"], transcript["seed"], transcript["won"]) == \
            (episode["task_id"], episode["seed"], episode["won"])
        for step in steps:
            assert step["response"].startswith("aaaa") and step["parse_error"]  # why the step was invalid
            assert len(step["prompt"]["sha256"]) == 64 and step["prompt"]["chars"] > 100
            assert step["observation"] and step["observation"] in step["prompt"]["last_turn"]
            assert "first_turn" not in step and "Your task is to" in step["prompt"]["last_turn"]
        assert transcript["first_turn"] is None  # the official prompts are one turn: all of it is the last turn


def test_long_texts_keep_their_head_and_tail():
    text = "a" * 3000 + "MIDDLE" + "z" * 3000
    cut = bounded(text)
    assert cut.startswith("a" * 100) and cut.endswith("z" * 100) and "MIDDLE" not in cut
    assert "characters cut" in cut and len(cut) < TEXT_LIMIT + 60
    assert bounded("short") == "short" and bounded(None) is None


def test_a_killed_eval_resumes_with_one_transcript_per_episode(small_split, tmp_path, monkeypatch):
    from serl_bench.rundir import RunDir

    config = EvalConfig(method="random", env="alfworld", env_args=SMALL, episodes=4)
    whole = evaluate(config, out=tmp_path / "whole", progress=False)

    def dies_after_the_transcript_of_episode_2(run, value):
        if value["episode"] == 2:
            raise KeyboardInterrupt
        return real(run, value)

    real = RunDir.append_episode
    monkeypatch.setattr(RunDir, "append_episode", dies_after_the_transcript_of_episode_2)
    with pytest.raises(KeyboardInterrupt):
        evaluate(config, out=tmp_path / "killed", progress=False)
    killed = tmp_path / "killed"
    # killed between episode 2's two lines: its transcript is written, its record is not
    assert [t["episode"] for t in lines(killed / "transcripts.jsonl")] == [0, 1, 2]
    assert len((killed / "episodes.jsonl").read_text().splitlines()) == 2
    monkeypatch.setattr(RunDir, "append_episode", real)
    evaluate(config, out=killed, resume=True, progress=False)
    assert (killed / "episodes.jsonl").read_bytes() == (whole.path / "episodes.jsonl").read_bytes()
    resumed = lines(killed / "transcripts.jsonl")
    assert resumed == lines(whole.path / "transcripts.jsonl")  # one per episode: none lost, none repeated
    assert all(s["prompt"] is None and s["response"] is None for t in resumed for trial in t["trials"]
               for s in trial)  # an agent without a model


def test_training_logs_the_first_group_of_every_update(small_split, random_model, tmp_path):
    settings = dict(**CLASSIC_LOOP, split="procgen-test", eval_split="procgen-test", env_args=SMALL, updates=2,
                    tasks_per_update=2, group_size=2, max_steps=2, max_new_tokens=4, eval_episodes=1, minibatch=8,
                    micro_batch=4, history=1)
    run = train(TrainConfig(method="grpo", model=str(random_model), **settings), out=tmp_path / "first",
                progress=False)
    logged = lines(run.path / "train-transcripts.jsonl")
    assert [(t["update"], t["group"], t["rollout"]) for t in logged] == [(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 0, 1)]
    assert all(s["response"] is not None for t in logged for s in t["trials"][0])
    assert len(lines(run.path / "transcripts.jsonl")) == 1  # the final evaluation's
    none = train(TrainConfig(method="grpo", model=str(random_model), train_transcripts="none", **settings),
                 out=tmp_path / "none", progress=False)
    assert not (none.path / "train-transcripts.jsonl").exists()
    every = train(TrainConfig(method="grpo", model=str(random_model), train_transcripts="all",
                              **{**settings, "updates": 1}), out=tmp_path / "all", progress=False)
    assert [(t["group"], t["rollout"]) for t in lines(every.path / "train-transcripts.jsonl")] == \
        [(0, 0), (0, 1), (1, 0), (1, 1)]


def show(*args):
    return run_in_process("show", *args)


def test_show_prints_an_episode_step_by_step(llm_eval):
    done = show(llm_eval.path, "--episode", 1)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("episode 1 · task ") and "2 invalid" in out.splitlines()[0]
    assert out.count("observation:") == 2 and "response:" in out and "invalid: " in out and "goal: " in out
    assert "prompt, last turn:" not in out
    assert show(llm_eval.path, "--episode", 1, "--prompts").stdout.count("prompt, last turn:") == 2
    listed = show(llm_eval.path, "--list")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2


@pytest.mark.parametrize("args, fragment", [
    (["--episode", "9"], "no episode 9 in the transcripts; they hold episodes 0..1"),
    (["--train"], "has no training transcripts (train-transcripts.jsonl)"),
])
def test_show_refuses_in_one_line(llm_eval, args, fragment):
    assert_one_line_error(show(llm_eval.path, *args), fragment)


def test_show_of_a_folder_that_is_no_run_is_one_line(tmp_path):
    assert_one_line_error(show(tmp_path), "is not a run directory (no config.json)")


@pytest.mark.slow
def test_the_html_page_shows_every_episode_as_text_in_chromium(llm_eval, tmp_path, driver):
    from selenium.webdriver.common.by import By

    from serl_bench.rundir import RunDir
    from serl_bench.show import write_html

    transcripts = RunDir(llm_eval.path).read_transcripts()
    hostile = json.loads(json.dumps(transcripts[0]))
    hostile["trials"][0][0]["observation"] = "<script>window.pwned = 1</script><b>bold?</b>"
    page = write_html([*transcripts, {**hostile, "episode": 2}], tmp_path / "page.html", title="transcripts test")
    driver.get(page.as_uri())
    assert driver.title == "transcripts test"
    assert len(driver.find_elements(By.CSS_SELECTOR, "section")) == 3
    assert len(driver.find_elements(By.CSS_SELECTOR, "ol.index li a")) == 3
    assert driver.execute_script("return window.pwned === undefined")  # texts are shown, never run
    assert "<script>window.pwned = 1</script>" in driver.find_element(By.ID, "e2").text
    assert driver.find_elements(By.CSS_SELECTOR, "#e2 b") == []
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.step")) == 6
