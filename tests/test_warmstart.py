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


def test_unknown_warm_starts_list_the_known_ones():
    from serl_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown warm start 'nope'; valid: default-sft-webshop"):
        warmstart.ensure_warm_start("nope")
