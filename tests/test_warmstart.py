"""Named warm starts: built once by SFT, cached, found again, and recorded with their provenance."""

import json

import pytest

from serl_bench import warmstart
from serl_bench.models import resolve_model


@pytest.fixture
def tiny_recipe(monkeypatch, random_model):
    # WebShop: its training split is generated in a fraction of a second (ALFWorld's would mean minutes of games)
    recipe = warmstart.WarmStart(env="webshop", base=str(random_model), updates=1, tasks_per_update=1,
                                 max_new_tokens=4, minibatch=8, micro_batch=4, minutes=0.1)
    monkeypatch.setitem(warmstart.WARM_STARTS, "tiny-sft-test", recipe)
    return recipe


@pytest.mark.slow
def test_a_warm_start_is_built_once_and_says_where_it_came_from(tiny_recipe, capsys):
    ref = resolve_model("tiny-sft-test")
    assert ref.kind == "warm-start" and ref.name == "tiny-sft-test"
    assert "building the warm start tiny-sft-test once" in capsys.readouterr().err
    origin = json.loads((warmstart.ensure_warm_start("tiny-sft-test") / "serl_bench_origin.json").read_text())
    assert origin["kind"] == "warm-start" and origin["recipe"]["method"] == "sft"
    assert origin["recipe"]["demonstrations"] == 1 and len(origin["recipe"]["split_fingerprint"]) == 64
    assert origin["parent"]["kind"] == "folder" and origin["agent"]["prompt"] == "compact"
    again = resolve_model("tiny-sft-test")  # cached: no second build
    assert again.location == ref.location and "building" not in capsys.readouterr().err

    from serl_bench.models import model_origin

    recorded = model_origin(again)
    assert recorded["kind"] == "warm-start" and recorded["recipe"]["split"] == "train"
    assert recorded["sha256"] and recorded["parent"]["sha256"]
    assert warmstart.prompt_mismatch(recorded, prompt="compact", history=2) is None  # the prompt it learned on
    assert "history 2 (this run: 8)" in warmstart.prompt_mismatch(recorded, prompt="compact", history=8)


def test_a_run_that_changes_the_warm_starts_prompt_is_told_so():
    origin = {"kind": "warm-start", "name": "sft-webshop-history8", "recipe": {"prompt": "compact", "history": 8}}
    message = warmstart.prompt_mismatch(origin, prompt="standard", history=2)
    assert message == ("the warm start sft-webshop-history8 learned on prompt compact (this run: standard) and "
                       "history 8 (this run: 2); pass --prompt compact --history 8 to give it the prompt it knows")
    assert warmstart.prompt_mismatch(origin, prompt="compact", history=8) is None
    assert warmstart.prompt_mismatch({"kind": "folder", "recipe": None}, prompt="standard", history=0) is None


def test_unknown_warm_starts_list_the_known_ones():
    from serl_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown warm start 'nope'; valid: default-sft-webshop"):
        warmstart.ensure_warm_start("nope")
