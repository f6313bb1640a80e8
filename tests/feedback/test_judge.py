"""The judge client against a real OpenAI-compatible server: `transformers serve` on a tiny local model
built from a config (conftest's ``tiny_model``: greedy decoding always answers "aaaa...")."""

import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from serl_bench.feedback import FeedbackSpec, JudgeConfig, OpenAIJudge, build_contexts

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(openai_server):
    return openai_server


SPEC = FeedbackSpec.parse("current_trajectory")


def test_the_judge_condenses_each_trajectory_once(server, groups, tmp_path):
    group = groups["mixed"]
    judge = OpenAIJudge(JudgeConfig(**server, max_tokens=12, cache_dir=str(tmp_path / "cache")))
    contexts = build_contexts(group, SPEC, judge)
    assert all(c.text.endswith("Trajectory Judge:\naaaaaaaaaaaa") and not c.notes for row in contexts for c in row)
    assert judge.requests == len(group.trajectories)
    build_contexts(group, SPEC, judge)
    assert judge.requests == len(group.trajectories)  # cached in memory
    fresh = OpenAIJudge(JudgeConfig(**server, max_tokens=12, cache_dir=str(tmp_path / "cache")))
    build_contexts(group, SPEC, fresh)
    assert fresh.requests == 0  # and on disk, keyed by content


def test_concurrency_is_bounded(server, groups):
    in_flight, peak, lock = [0], [0], threading.Lock()

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request):
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            try:
                time.sleep(0.05)
                return super().handle_request(request)
            finally:
                with lock:
                    in_flight[0] -= 1

    config = JudgeConfig(**server, max_tokens=4, max_concurrency=2)
    client = httpx.Client(base_url=config.base_url + "/", timeout=30, transport=Counting())
    items = [(f"task {i}", f"attempt {i}", "failed") for i in range(8)]
    assert OpenAIJudge(config, client=client).condense_many(items) == ["aaaa"] * 8
    assert peak[0] == 2


def test_a_judge_that_times_out_leaves_the_raw_trajectory(server, groups):
    group = groups["single"]
    judge = OpenAIJudge(JudgeConfig(**server, timeout_s=0.001, retries=1))
    contexts = build_contexts(group, SPEC, judge)
    context = contexts[0][0]
    assert "Trajectory Judge:" not in context.text and "Step 0\nResponse:" in context.text
    assert context.notes == (f"judge failed ({server['base_url']}/chat/completions: no complete answer within 0.001 s "
                             "(2 attempts)); the raw trajectory is used",)
    assert judge.requests == 2


def test_an_unreachable_or_wrong_endpoint_is_recorded_not_fatal(server, groups):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    closed = OpenAIJudge(JudgeConfig(base_url=url, model="m", retries=0))
    note = build_contexts(groups["single"], SPEC, closed)[0][0].notes[0]
    assert note.startswith(f"judge failed ({url}/chat/completions: ConnectError")
    wrong = OpenAIJudge(JudgeConfig(base_url=server["base_url"].removesuffix("/v1") + "/nope", model="m"))
    note = build_contexts(groups["single"], SPEC, wrong)[0][0].notes[0]
    assert note.startswith("judge failed (") and "/nope/chat/completions: HTTP 404" in note
    assert wrong.requests == 1  # a 404 is not retried


def test_the_command_line_uses_the_judge(server, small_split, tmp_path):
    import json

    out = tmp_path / "judged.jsonl"
    done = subprocess.run([sys.executable, "-m", "serl_bench", "feedback", "--feedback", "current_trajectory",
                           "--tasks", "1", "--group-size", "1", "--policy", "expert", "--env-arg", "games_per_type=2",
                           "--judge-url", server["base_url"], "--judge-model", server["model"], "--out", str(out),
                           "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all("Trajectory Judge:\naaaa" in r["context"] and not r["notes"] for r in rows)
