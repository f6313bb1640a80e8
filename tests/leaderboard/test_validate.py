"""Bad records and hostile JSON: one-line errors, never a traceback, never anything executed."""

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serl_bench.leaderboard import MAX_DEPTH, MAX_RECORD_BYTES, MAX_STRING, SubmissionError, record_from, validate
from serl_bench.results import ResultsRecord


@pytest.fixture(scope="module")
def good(eval_runs):
    return json.loads((eval_runs["noisy-expert"] / "results.json").read_text())


def _write(tmp_path, text):
    path = tmp_path / "results.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _refused(path, *fragments):
    with pytest.raises(SubmissionError) as info:
        validate(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_valid_record_validates(eval_runs):
    assert isinstance(validate(eval_runs["expert"]), ResultsRecord)
    assert validate(eval_runs["expert"] / "results.json") == validate(eval_runs["expert"])


@pytest.mark.parametrize("text, fragment", [
    ("", "not valid JSON"),
    ("{", "not valid JSON"),
    ('{"schema_version": 1, "run_id": "x"', "not valid JSON"),  # truncated
    ("[1, 2]", "is a JSON object, got an array"),
    ('"hello"', "got a string"),
    (b"\xff\xfe{}", "not UTF-8"),
    ('{"schema_version": 1, "schema_version": 1}', "duplicate key 'schema_version'"),
    ('{"success_rate": NaN}', "NaN is not a JSON number"),
    ('{"success_rate": Infinity}', "Infinity is not a JSON number"),
])
def test_malformed_json_is_refused_in_one_line(tmp_path, text, fragment):
    message = _refused(_write(tmp_path, text), fragment)
    assert "\n" not in message


def test_truncated_real_record_is_refused(tmp_path, eval_runs):
    text = (eval_runs["random"] / "results.json").read_text()
    _refused(_write(tmp_path, text[: len(text) // 2]), "not valid JSON")


def test_oversized_file_is_refused_before_parsing(tmp_path):
    _refused(_write(tmp_path, b" " * (MAX_RECORD_BYTES + 1)), "byte limit")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused(tmp_path, good, depth):
    record = json.dumps({**good, "method_args": "X"}).replace('"X"', "[" * depth + "]" * depth)
    if len(record) > MAX_RECORD_BYTES:
        pytest.skip("too large for the record limit; the size check refuses it first")
    _refused(_write(tmp_path, record), "nested deeper")


def test_huge_strings_are_refused(tmp_path, good):
    _refused(_write(tmp_path, json.dumps({**good, "run_id": "x" * (MAX_STRING + 1)})), "string longer")
    _refused(_write(tmp_path, json.dumps({**good, "hardware": {"k" * (MAX_STRING + 1): 1}})), "key longer")


@pytest.mark.parametrize("version, fragment", [
    (3, "newer than this serl-bench reads"),
    (0, "is not supported"),
    ("1", "is not supported"),
    (True, "is not supported"),
    (None, "is not supported"),
])
def test_wrong_schema_version_is_refused(tmp_path, good, version, fragment):
    _refused(_write(tmp_path, json.dumps({**good, "schema_version": version})), fragment)


@pytest.mark.parametrize("key, value", [("success_rate", "0.5"), ("episodes", 6.5), ("episodes", True),
                                        ("seeds", "0"), ("created_at", "yesterday")])
def test_json_types_are_strict(tmp_path, good, key, value):
    _refused(_write(tmp_path, json.dumps({**good, key: value})), f": {key}: ")


def test_missing_version_is_refused(tmp_path, good):
    data = dict(good)
    del data["schema_version"]
    _refused(_write(tmp_path, json.dumps(data)), "schema_version")


def test_each_schema_problem_names_its_field_on_its_own_line(tmp_path, good):
    bad = {**good, "success_rate": 1.5, "episodes_sha256": "abc", "feedback": {"sources": []}, "surprise": 1}
    del bad["model"]
    message = _refused(_write(tmp_path, json.dumps(bad)))
    lines = message.splitlines()
    fields = [line.split(": ")[1] for line in lines]
    assert {"success_rate", "episodes_sha256", "model", "surprise"} <= set(fields), lines
    assert any(f.startswith("feedback.") for f in fields)
    assert all(line.startswith(str(tmp_path / "results.json")) for line in lines)
    assert any("missing" in line for line in lines if ": model:" in line)
    assert any("unknown key" in line for line in lines if ": surprise:" in line)


def test_cli_prints_one_line_per_problem_and_exits_2(tmp_path, good):
    path = _write(tmp_path, json.dumps({**good, "success_rate": -1, "score_mean": 7}))
    done = subprocess.run([sys.executable, "-m", "serl_bench", "leaderboard", "validate", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("serl-bench: error: ") for line in lines), lines
    assert ": success_rate: " in lines[0] + lines[1] and ": score_mean: " in lines[0] + lines[1]


def test_a_run_directory_without_results_is_refused(tmp_path):
    _refused(tmp_path, "holds no results.json")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(ResultsRecord.model_fields)), value=_json)
def test_any_value_in_any_field_validates_or_is_refused_cleanly(good, key, value):
    """Property: whatever JSON lands in a field, the result is a record or a SubmissionError of short lines."""
    try:
        record = record_from(json.loads(json.dumps({**good, key: value})), "results.json")
    except SubmissionError as exc:
        assert all(0 < len(line) < 400 for line in str(exc).splitlines())
    else:
        assert isinstance(record, ResultsRecord)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_validate_or_are_refused_cleanly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("h") / "results.json"
    path.write_bytes(data)
    with pytest.raises(SubmissionError):  # nothing arbitrary is a complete valid record
        validate(path)


def test_version_1_records_are_still_read_as_version_1(eval_runs):
    """Records written before schema 2 validate against version 1 and say so; the board marks them."""
    from serl_bench.leaderboard import record_from, rows
    from serl_bench.results import ResultsRecordV1

    data = json.loads((eval_runs["random"] / "results.json").read_text())
    v1 = {k: v for k, v in data.items() if k != "protocol"}
    v1["schema_version"] = 1
    record = record_from(v1, "v1.json")
    assert isinstance(record, ResultsRecordV1) and record.schema_version == 1
    row = rows([("v1.json", record)])[0]
    assert row.max_steps is None and "not recorded (v1)" in row.panel
    with pytest.raises(SubmissionError, match="protocol: unknown key .not in schema version 1"):
        record_from({**data, "schema_version": 1}, "mixed.json")
