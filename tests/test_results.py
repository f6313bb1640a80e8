
import pytest

from serl_bench.results import (
    ResultsRecord,
    config_hash,
    summarize,
    wilson_interval,
)


@pytest.mark.parametrize("k, n, lo, hi", [
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (81, 100, 0.7222, 0.8749),
])
def test_wilson_interval_matches_reference_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


@pytest.mark.parametrize("n", [1, 7, 120, 1000])
def test_wilson_interval_ends_are_exact(n):
    # Rounding once left lo = 2.8e-17 at 0 successes, an interval that excludes the 0 % it describes.
    assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0


def test_summary_keeps_success_and_score_apart():
    episodes = [
        {"won": True, "score": 1.0, "steps": 5, "task_type": "a", "error": None},
        {"won": False, "score": 0.75, "steps": 9, "task_type": "a", "error": None},
        {"won": False, "score": 0.0, "steps": 50, "task_type": "b", "error": "RuntimeError: x"},
    ]
    s = summarize(episodes)
    assert s.success_rate == pytest.approx(1 / 3) and s.score_mean == pytest.approx(1.75 / 3)
    assert s.per_task_type["a"].success_rate == 0.5 and s.per_task_type["a"].score_mean == 0.875
    assert s.per_task_type["b"].episodes == 1 and s.errors == 1 and s.mean_steps == pytest.approx(64 / 3)


def test_summary_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        summarize([])


def test_config_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_every_record_field_is_serialized(tmp_path):
    fields = ResultsRecord.model_fields
    required = {"schema_version", "run_id", "created_at", "method", "method_args", "env", "split",
                "split_source", "episodes", "seeds", "success_rate", "success_ci95", "score_mean",
                "per_task_type", "mean_steps", "model", "feedback", "training", "hardware", "software",
                "config_hash", "episodes_sha256"}
    assert required <= set(fields)
    assert all(f.description for f in fields.values())  # every field documented
