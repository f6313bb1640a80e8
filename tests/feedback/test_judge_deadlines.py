"""The judge against real local servers that misbehave: each request ends by its deadline, a dead judge
stops being asked after a few failures in a row, and the feedback summary counts the failures."""

import time

from serl_bench.feedback import FeedbackRunConfig, JudgeConfig, JudgeFailure, OpenAIJudge, collect_feedback

ITEMS = [(f"task {i}", f"attempt {i}", "failed") for i in range(6)]


def test_a_trickling_judge_ends_by_its_deadline_and_is_then_left_alone(local_endpoint):
    server = local_endpoint("trickle", interval=0.1)
    judge = OpenAIJudge(JudgeConfig(base_url=server.url, model="m", timeout_s=0.5, retries=0, max_concurrency=1,
                                    give_up_after=2))
    start = time.monotonic()
    results = judge.condense_many(ITEMS)
    assert time.monotonic() - start < 3.0
    assert all(isinstance(r, JudgeFailure) for r in results)
    assert [r.reason for r in results[:2]] == [f"{server.url}/chat/completions: no complete answer within 0.5 s "
                                               "(1 attempt)"] * 2
    assert all(r.reason.startswith("not asked: the judge failed 2 trajectories in a row (last: ") for r in results[2:])
    assert judge.failures == 6 and judge.requests == 2 and len(server.requests) == 2


def test_a_judge_that_recovers_is_asked_again(local_endpoint):
    server = local_endpoint((200, '{"choices": [{"message": {"content": "fine"}}]}'))
    judge = OpenAIJudge(JudgeConfig(base_url=server.url, model="m", give_up_after=1))
    assert judge.condense_many(ITEMS[:2]) == ["fine", "fine"] and judge.failures == 0


def test_the_feedback_summary_counts_judge_failures(local_endpoint, small_split, tmp_path):
    server = local_endpoint((404, '{"error": "no such route"}'))
    config = FeedbackRunConfig(feedback="current_trajectory", policy="expert", tasks=1, group_size=2,
                               env_args={"games_per_type": 2}, judge_url=server.url, judge_model="m")
    run = collect_feedback(config, out=tmp_path / "contexts.jsonl", progress=False)
    assert run.summary()["judge"] == {"trajectories": 2, "condensed": 0, "failures": 2, "requests": 2}
    notes = {n for group in run.contexts for trajectory in group for c in trajectory if c for n in c.notes}
    assert notes == {f"judge failed ({server.url}/chat/completions: HTTP 404: " '{"error": "no such route"}); '
                     "the raw trajectory is used"}


def test_the_command_line_prints_the_judge_failures(local_endpoint, small_split, tmp_path):
    import subprocess
    import sys

    server = local_endpoint((404, "{}"))
    done = subprocess.run([sys.executable, "-m", "serl_bench", "feedback", "--feedback", "current_trajectory",
                           "--tasks", "1", "--group-size", "2", "--policy", "expert", "--env-arg", "games_per_type=2",
                           "--judge-url", server.url, "--judge-model", "m", "--out", str(tmp_path / "c.jsonl"),
                           "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "judge: 0 of 2 trajectories condensed, 2 failed (their raw trajectory used), 2 requests" in done.stdout
    assert "warning: the judge failed 2 of 2 trajectories" in done.stderr


def test_the_judge_timeout_is_a_setting(local_endpoint, small_split, tmp_path):
    import pytest

    from serl_bench.errors import ConfigError

    server = local_endpoint("trickle", interval=0.1)
    config = FeedbackRunConfig(feedback="current_trajectory", policy="expert", tasks=1, group_size=1,
                               env_args={"games_per_type": 2}, judge_url=server.url, judge_model="m",
                               judge_timeout=0.4)
    run = collect_feedback(config, out=tmp_path / "contexts.jsonl", progress=False)
    notes = {n for group in run.contexts for trajectory in group for c in trajectory if c for n in c.notes}
    assert any("no complete answer within 0.4 s" in n for n in notes), notes
    with pytest.raises(ConfigError, match="--judge-timeout must be a positive number of seconds, got 0"):
        collect_feedback(FeedbackRunConfig(judge_url=server.url, judge_model="m", judge_timeout=0),
                         out=tmp_path / "x.jsonl", progress=False)
