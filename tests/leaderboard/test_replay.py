"""`leaderboard submit` replays every episode on the env of its record: made-up logs are refused, naming the
first episode whose actions do not give what its line says, even when every figure was recomputed to match."""

import json
from dataclasses import asdict

import pytest

from serl_bench import Agent, AgentStep, register_method
from serl_bench.harness import EvalConfig, evaluate
from serl_bench.leaderboard import SubmissionError, load_submissions, read_episodes, render, submit
from serl_bench.leaderboard._replay import TRIAL_SEED_STRIDE
from serl_bench.methods import _REGISTRY
from serl_bench.results import config_hash, file_sha256, summarize


def _reseal(run):
    """Recompute every figure and hash of ``run``'s results.json from its log and config, as a forger would."""
    record = json.loads((run / "results.json").read_text())
    s = summarize(asdict(e) for e in read_episodes(run / "episodes.jsonl"))
    record.update(success_rate=s.success_rate, success_ci95=list(s.success_ci95), score_mean=s.score_mean,
                  mean_steps=s.mean_steps, errors=s.errors, episodes=s.episodes,
                  per_task_type={t: asdict(v) for t, v in s.per_task_type.items()},
                  episodes_sha256=file_sha256(run / "episodes.jsonl"),
                  config_hash=config_hash(json.loads((run / "config.json").read_text())))
    (run / "results.json").write_text(json.dumps(record))


def _rewrite(run, change, only=None):
    path = run / "episodes.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        if only is None or row["episode"] in only:
            change(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _reseal(run)
    return rows


def _lost(run):
    return [json.loads(line)["episode"] for line in (run / "episodes.jsonl").read_text().splitlines()
            if not json.loads(line)["won"]]


def test_a_fabricated_log_is_refused_naming_the_first_differing_episode(run_copy, tmp_path):
    run = run_copy("random")
    first = _lost(run)[0]
    _rewrite(run, lambda row: row.update(won=True, score=1.0, truncated=False))
    with pytest.raises(SubmissionError) as caught:
        submit(run, tmp_path / "board")
    message = str(caught.value)
    assert "\n" not in message and "the record does not match" not in message  # every figure agrees with the log
    assert f"episode {first} does not replay: the log says won true, score 1.000" in message
    assert "its actions give won false, score 0.000" in message
    assert not (tmp_path / "board" / "submissions").exists()


def test_the_same_log_without_replay_is_accepted_marked_unverified(run_copy, tmp_path):
    run = run_copy("random")
    _rewrite(run, lambda row: row.update(won=True, score=1.0, truncated=False))
    path = submit(run, tmp_path, replay=False)
    (name, record, verification), = load_submissions(tmp_path)
    assert name == path.name and record.success_rate == 1.0
    assert not verification.replayed and "--no-replay" in verification.note
    readme, page = render(tmp_path)
    row = next(line for line in readme.read_text().splitlines() if line.startswith("| 1 |"))
    assert row.endswith("| **unverified** |") and "unverified" in page.read_text()


def test_an_honest_run_is_replayed_and_shown_verified(eval_runs, tmp_path):
    path = submit(eval_runs["noisy-expert"], tmp_path)
    stored = json.loads(path.read_text())
    episodes = read_episodes(eval_runs["noisy-expert"] / "episodes.jsonl")
    assert stored["verification"] == {"replayed": True, "episodes": 6, "steps": sum(e.steps for e in episodes),
                                      "note": stored["verification"]["note"]}
    readme, _ = render(tmp_path)
    assert next(line for line in readme.read_text().splitlines() if line.startswith("| 1 |")).endswith("| replayed |")


def test_steps_must_be_the_number_of_actions_even_without_replay(run_copy, tmp_path):
    run = run_copy("noisy-expert")
    _rewrite(run, lambda row: row.update(steps=row["steps"] - 1), only={2})
    for replay in (True, False):
        with pytest.raises(SubmissionError, match=r"episode 2 says \d+ steps but lists \d+ actions"):
            submit(run, tmp_path, replay=replay)


@pytest.mark.parametrize("change, fragment", [
    (lambda row: row.update(actions=row["actions"][:-1], steps=row["steps"] - 1),
     "actions end before the episode does (trial 1 of 1 still running)"),
    (lambda row: row.update(actions=row["actions"] + ["look"], steps=row["steps"] + 1),
     "the episode ends after"),
    (lambda row: row.update(total_reward=row["total_reward"] + 1), "does not replay: the log says"),
    (lambda row: row.update(task_type="pick_two_obj_and_place"), "does not replay: the log says"),
    (lambda row: row.update(seed=row["seed"] + 7), "but the protocol plays task"),
])
def test_a_log_that_its_actions_do_not_give_is_refused(run_copy, tmp_path, change, fragment):
    run = run_copy("expert")
    _rewrite(run, change, only={3})
    with pytest.raises(SubmissionError, match="episode 3 ") as caught:
        submit(run, tmp_path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_cherry_picked_tasks_are_refused(run_copy, tmp_path):
    run = run_copy("expert")
    rows = [json.loads(line) for line in (run / "episodes.jsonl").read_text().splitlines()]
    _rewrite(run, lambda row: row.update(task_id=rows[0]["task_id"], actions=rows[0]["actions"],
                                         steps=rows[0]["steps"]), only={1})
    with pytest.raises(SubmissionError, match=r"episode 1 does not replay: the log says task .* but the protocol"):
        submit(run, tmp_path)


def test_a_run_whose_env_cannot_be_rebuilt_here_says_so_and_needs_no_replay(run_copy, tmp_path):
    run = run_copy("expert")
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "split": "valid_seen"}))
    record = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps({**record, "split": "valid_seen", "split_source": "official"}))
    _reseal(run)
    with pytest.raises(SubmissionError) as caught:
        submit(run, tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "cannot rebuild the env of this run here (" in message
    assert message.endswith("submit with --no-replay to add it marked unverified")
    assert not load_submissions(tmp_path)
    submit(run, tmp_path, replay=False)
    assert [v.replayed for _, _, v in load_submissions(tmp_path)] == [False]


def test_other_tasks_here_than_in_the_record_are_named(run_copy, tmp_path):
    run = run_copy("expert")
    record = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps({**record, "split_fingerprint": "0" * 64}))
    with pytest.raises(SubmissionError, match=r"not the record's: split fingerprint [0-9a-f]{12}… here, 000000000000…"):
        submit(run, tmp_path)


def test_worker_processes_replay_the_same(run_copy, tmp_path):
    run = run_copy("random")
    last = _lost(run)[-1]  # only the last lost episode is forged: the other worker finds nothing
    _rewrite(run, lambda row: row.update(won=True, score=1.0, truncated=False), only={last})
    with pytest.raises(SubmissionError, match=f"episode {last} does not replay: the log says won true"):
        submit(run, tmp_path, workers=2)


def test_the_trial_seed_rule_is_the_engines():
    from serl_bench.rollouts import TRIAL_SEED_STRIDE as ENGINE

    assert TRIAL_SEED_STRIDE == ENGINE


@pytest.fixture
def test_methods():
    """An agent that retries (fails its first trial, then plays the expert) and one that errors mid-episode."""

    class Retrying(Agent):
        trials = 3

        def reset(self, env, observation, info, *, seed):
            self.env, self.seed = env.unwrapped, seed

        def act(self, observation, info):
            if self.seed < TRIAL_SEED_STRIDE:  # the first trial: look around until cut off
                return AgentStep("look")
            return AgentStep(self.env.expert_action() or "look")

    class Breaking(Agent):
        def reset(self, env, observation, info, *, seed):
            self.env, self.n = env.unwrapped, 0

        def act(self, observation, info):
            self.n += 1
            if self.n == 3:
                raise RuntimeError("the agent broke")
            return AgentStep(self.env.expert_action() or "look")

    register_method("retrying-test")(Retrying)
    register_method("breaking-test")(Breaking)
    yield
    _REGISTRY.pop("retrying-test")
    _REGISTRY.pop("breaking-test")


def test_retries_and_errors_replay_too(test_methods, small_split, tmp_path):
    for method in ("retrying-test", "breaking-test"):
        run = evaluate(EvalConfig(method=method, episodes=3, max_steps=30, env_args={"games_per_type": 2}),
                       out=tmp_path / method, progress=False).path
        episodes = read_episodes(run / "episodes.jsonl")
        if method == "retrying-test":
            assert min(e.trials for e in episodes) >= 2 and any(e.won for e in episodes)
        else:
            assert all(e.error and e.steps == 2 for e in episodes)
        submit(run, tmp_path / "board")
        forged = tmp_path / f"forged-{method}"
        forged.mkdir()
        for name in ("config.json", "episodes.jsonl", "results.json"):
            (forged / name).write_bytes((run / name).read_bytes())
        change = (lambda row: row.update(trials=1)) if method == "retrying-test" else (
            lambda row: row.update(error=None))
        _rewrite(forged, change, only={0})
        with pytest.raises(SubmissionError, match="episode 0 does not replay"):
            submit(forged, tmp_path / "board")


@pytest.fixture(scope="module")
def webshop_run(tmp_path_factory):
    config = EvalConfig(method="noisy-expert", env="webshop", episodes=8, env_args={"num_products": 300},
                        method_args={"epsilon": 0.5})
    return evaluate(config, out=tmp_path_factory.mktemp("webshop") / "run", progress=False).path


def test_webshop_runs_replay(webshop_run, tmp_path):
    import shutil

    assert json.loads(submit(webshop_run, tmp_path / "board").read_text())["verification"]["replayed"]
    forged = shutil.copytree(webshop_run, tmp_path / "forged")
    first = _lost(forged)[0]
    _rewrite(forged, lambda row: row.update(won=True, score=1.0, truncated=False))
    with pytest.raises(SubmissionError, match=f"episode {first} does not replay: the log says won true"):
        submit(forged, tmp_path / "board")


def test_the_command_line_refuses_a_fabricated_log_in_one_line_and_takes_no_replay(run_copy, tmp_path):
    import subprocess
    import sys

    run = run_copy("random")
    first = _lost(run)[0]
    _rewrite(run, lambda row: row.update(won=True, score=1.0, truncated=False))
    cmd = [sys.executable, "-m", "serl_bench", "leaderboard", "submit", str(run), "--board", str(tmp_path / "b")]
    refused = subprocess.run(cmd, capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("serl-bench: error: ") and f"episode {first} does not replay" in refused.stderr
    accepted = subprocess.run(cmd + ["--no-replay"], capture_output=True, text=True)
    assert accepted.returncode == 0 and "accepted UNVERIFIED (--no-replay)" in accepted.stdout, accepted.stderr
    assert "**unverified**" in (tmp_path / "b" / "README.md").read_text()


class _Toy:
    """A deterministic env for replay's rules alone: ``win`` wins from the second trial on (its seeds), ``boom``
    and ``bad`` raise (a bug, and bad input), anything else earns 0.1."""

    def reset(self, *, seed, options):
        self.seed = seed
        return "start", {"task_id": options["task_id"], "task_type": "toy", "won": False, "score": 0.0}

    def step(self, action):
        if action == "boom":
            raise RuntimeError("the env broke")
        if action == "bad":
            from serl_bench.errors import GameFileError

            raise GameFileError("this game cannot be played")
        won = action == "win" and self.seed >= TRIAL_SEED_STRIDE
        return "next", 1.0 if won else 0.1, won, False, {"won": won, "score": float(won)}


def _toy_record(**changes):
    """Two trials of at most 3 steps: the first is cut off (``win`` does nothing yet), the second won."""
    from serl_bench.harness import EpisodeRecord

    fields = dict(episode=0, task_id="0", task_type="toy", seed=5, steps=4, won=True, score=1.0, total_reward=1.3,
                  truncated=False, actions=["look", "win", "look", "win"], error=None, trials=2)
    fields.update(changes)
    return EpisodeRecord(**fields)


@pytest.mark.parametrize("changes, how", [
    ({}, None),
    ({"actions": ["look", "win", "look", "win", "look"], "steps": 5}, "the episode ends after 4 of its 5 actions"),
    ({"actions": ["look", "win", "look", "win", "look"], "steps": 5, "trials": 3},
     "trial 2 is won, yet the log goes on to another trial"),
    ({"trials": 1}, "the episode ends after 3 of its 4 actions"),
    ({"actions": ["look", "win", "look"], "steps": 3},
     "its 3 actions end before the episode does (trial 2 of 2 still running)"),
    ({"actions": ["look", "win", "look"], "steps": 3, "error": "ValueError: the agent broke", "won": False,
      "score": 0.0, "total_reward": 0.3}, None),  # the agent failed where its actions end: an honest log
    ({"actions": ["look", "win", "look"], "steps": 3, "trials": 1, "error": "ValueError: its lesson failed",
      "won": False, "score": 0.0, "total_reward": 0.3, "truncated": True}, None),  # end_trial raised: no trial 2
    ({"won": False, "score": 0.0}, "the log says won false, score 0.000, reward 1.300, 4 steps, task type toy; "
                                   "its actions give won true, score 1.000, reward 1.300, 4 steps, task type toy"),
    ({"actions": ["look", "boom", "look", "win"]}, "the env raised RuntimeError at step 2 of its actions"),
    ({"actions": ["look", "bad", "look", "win"]}, "the env raised GameFileError after 2 of its actions"),
])
def test_replay_plays_the_logged_actions_through_the_engine(changes, how):
    from serl_bench.leaderboard._replay import _replay_episode

    assert _replay_episode(_Toy(), _toy_record(**changes), max_steps=3) == how
