import httpx
import pytest

from serl_bench.errors import ConfigError
from serl_bench.models import EndpointError, OpenAIBackend, SamplingParams, make_backend

pytestmark = pytest.mark.slow


def test_generation_over_a_real_server(openai_server):
    backend = OpenAIBackend(openai_server["base_url"], openai_server["model"])
    out = backend.generate([[{"role": "user", "content": "hi"}]] * 3, SamplingParams(max_new_tokens=5))
    assert [g.text for g in out] == ["aaaaa"] * 3
    assert backend.info.source == "endpoint" and backend.requests == 3


def test_the_model_name_is_read_off_the_server(openai_server):
    if httpx.get(openai_server["base_url"] + "/models", timeout=30).status_code != 200:
        pytest.skip("this transformers serve release cannot list its models")
    assert OpenAIBackend(openai_server["base_url"]).model == openai_server["model"]
    assert make_backend("auto", openai_server["base_url"]).name == "openai"


def test_the_openai_backend_takes_endpoints_only(openai_server):
    with pytest.raises(ConfigError, match="the hf backend cannot run"):
        make_backend("hf", openai_server["base_url"])


def test_a_dead_endpoint_fails_with_the_reason():
    with pytest.raises(ConfigError, match="cannot list the models of http://127.0.0.1:9/v1"):
        OpenAIBackend("http://127.0.0.1:9/v1")
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", retries=1)
    with pytest.raises(EndpointError, match=r"ConnectError.*\(2 attempts\)"):
        backend.chat([{"role": "user", "content": "hi"}], SamplingParams())


def test_an_endpoint_model_is_named_after_a_hash(openai_server):
    backend = make_backend("auto", f"{openai_server['base_url']}#{openai_server['model']}")
    assert backend.model == backend.info.name == openai_server["model"] and backend.requests == 0  # nothing listed
    out = backend.generate([[{"role": "user", "content": "hi"}]], SamplingParams(max_new_tokens=3))
    assert out[0].text == "aaa"
