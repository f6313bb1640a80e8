import json
from pathlib import Path

import pytest

from serl_bench.leaderboard import SCHEMA_FILE, validate
from serl_bench.results import SCHEMA_VERSION, ResultsRecord

BOARD = Path(__file__).resolve().parents[2] / "leaderboard"


def test_the_committed_schemas_are_the_models():
    from serl_bench.results import ResultsRecordV1

    committed = json.loads((BOARD / SCHEMA_FILE).read_text())
    assert committed == ResultsRecord.json_schema(), (
        "leaderboard/results.schema.json is stale: run `serl-bench leaderboard schema --out "
        "leaderboard/results.schema.json` and commit it")
    assert json.loads((BOARD / "results.schema.v1.json").read_text()) == ResultsRecordV1.json_schema()


def test_every_field_is_documented_in_the_schema():
    schema = ResultsRecord.json_schema()
    assert set(schema["required"]) >= {"run_id", "success_rate", "score_mean", "episodes_sha256"}
    for name, prop in schema["properties"].items():
        assert prop.get("description"), f"{name} has no description"
    for definition in schema["$defs"].values():
        for name, prop in definition["properties"].items():
            assert prop.get("description"), f"{name} has no description"
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_real_records_round_trip(eval_runs):
    for path in eval_runs.values():
        record = validate(path)
        assert ResultsRecord.model_validate_json(record.to_json()) == record
        assert json.loads(record.to_json()) == json.loads((path / "results.json").read_text())


def test_the_record_refuses_inconsistent_figures(eval_runs):
    data = json.loads((eval_runs["random"] / "results.json").read_text())
    with pytest.raises(ValueError, match="does not contain success_rate"):
        ResultsRecord.model_validate({**data, "success_rate": 0.9})
    with pytest.raises(ValueError, match="do not add up"):
        ResultsRecord.model_validate({**data, "episodes": data["episodes"] + 1})
