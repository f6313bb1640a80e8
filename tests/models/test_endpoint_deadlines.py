"""The openai backend against real local servers that misbehave: every request has an overall deadline
(connect and the whole answer, not per read), bounded retries and a one-line error naming the endpoint."""

import json
import time

import pytest

from serl_bench.errors import ConfigError
from serl_bench.models import EndpointError, OpenAIBackend, SamplingParams

HI = [{"role": "user", "content": "hi"}]


def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(local_endpoint):
    server = local_endpoint("trickle", interval=0.1)  # a byte every 0.1 s: no read ever times out
    backend = OpenAIBackend(server.url, "m", timeout_s=1.0, retries=1)
    start = time.monotonic()
    with pytest.raises(EndpointError) as caught:
        backend.chat(HI, SamplingParams())
    elapsed = time.monotonic() - start
    assert 2.0 <= elapsed < 4.0, elapsed  # two attempts of 1 s and one backoff of 0.5 s
    message = str(caught.value)
    assert message == f"{server.url}/chat/completions: no complete answer within 1 s (2 attempts)"
    assert backend.requests == 2 and len(server.requests) == 2


def test_a_silent_server_fails_after_the_deadline_and_the_retries(local_endpoint):
    server = local_endpoint("silent")
    backend = OpenAIBackend(server.url, "m", timeout_s=0.5, retries=2)
    start = time.monotonic()
    with pytest.raises(EndpointError, match=r"no complete answer within 0\.5 s \(3 attempts\)$"):
        backend.generate([HI], SamplingParams())
    assert time.monotonic() - start < 4.0 and len(server.requests) == 3
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"cannot list the models of .*no answer within 0\.5 s"):
        OpenAIBackend(server.url, timeout_s=0.5)
    assert time.monotonic() - start < 2.0


def test_a_server_error_is_retried_a_bounded_number_of_times(local_endpoint):
    server = local_endpoint((503, "busy"))
    with pytest.raises(EndpointError, match=r"/chat/completions: HTTP 503 \(2 attempts\)$"):
        OpenAIBackend(server.url, "m", retries=1).chat(HI, SamplingParams())
    assert len(server.requests) == 2


@pytest.mark.parametrize("logprobs", [{"content": [{"logprob": "x"}]}, {"content": [{"token": "a"}]},
                                      {"content": [{"logprob": 2.0}]}, {"content": "abc"}])
def test_malformed_logprobs_are_an_endpoint_error_not_an_episode_error(local_endpoint, logprobs):
    answer = {"choices": [{"message": {"content": "look"}, "finish_reason": "stop", "logprobs": logprobs}]}
    server = local_endpoint((200, json.dumps(answer)))
    with pytest.raises(EndpointError, match="malformed logprobs in the answer") as caught:
        OpenAIBackend(server.url, "m").chat(HI, SamplingParams())
    assert "\n" not in str(caught.value)


def test_a_good_answer_still_comes_through(local_endpoint):
    answer = {"choices": [{"message": {"content": "look"}, "finish_reason": "stop",
                           "logprobs": {"content": [{"logprob": -0.5}, {"logprob": 0.0}]}}]}
    server = local_endpoint((200, json.dumps(answer)))
    generation = OpenAIBackend(server.url, "m", timeout_s=2.0).chat(HI, SamplingParams())
    assert generation.text == "look" and generation.logprobs == (-0.5, 0.0)


@pytest.mark.parametrize("kwargs, fragment", [({"timeout_s": 0}, "timeout_s must be a positive"),
                                              ({"timeout_s": float("nan")}, "timeout_s must be a positive"),
                                              ({"retries": -1}, "retries must be a whole number from 0 to 10"),
                                              ({"retries": 100}, "retries must be a whole number from 0 to 10")])
def test_deadline_settings_are_checked(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", **kwargs)
