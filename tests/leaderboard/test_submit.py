"""eval -> submit -> render on real runs; tampered runs refused, naming what differs."""

import json
import subprocess
import sys

import pytest

from serl_bench.leaderboard import SubmissionError, load_submissions, render, submission_name, submit, validate


def test_round_trip_eval_submit_render(eval_runs, tmp_path):
    board = tmp_path / "board"
    paths = [submit(eval_runs[m], board) for m in ("random", "expert", "noisy-expert")]
    assert [p.parent for p in paths] == [board / "submissions"] * 3
    for method, path in zip(("random", "expert", "noisy-expert"), paths, strict=True):
        assert path.name == submission_name(validate(eval_runs[method]))
        assert path.name.startswith(f"alfworld-procgen-test-{method}-")
        stored = json.loads(path.read_text())
        assert stored.pop("verification")["replayed"] is True  # every episode replayed to its logged outcome
        assert stored == json.loads((eval_runs[method] / "results.json").read_text())
    readme, page = render(board)
    text = readme.read_text()
    table = text.split("## alfworld — procedural splits")[1].split("## Reported")[0]
    assert "### tasks" in table and "50 steps" in table  # one panel: the same tasks and episode length
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [r.split(" | ")[1] for r in rows] == ["expert", "noisy-expert", "random"]  # ranked by success
    expert = validate(eval_runs["expert"])
    lo, hi = expert.success_ci95
    assert expert.success_rate == 1.0
    tasks = expert.split_fingerprint[:8]
    assert f"### tasks {tasks}, 50 steps" in table
    assert f"| 1 | expert | - | procgen-test | 100.0 [{100 * lo:.1f}, 100.0] | 1.000 | 6 | none | none |" in rows[0]
    assert all(r.endswith("| replayed |") for r in rows)
    assert len(load_submissions(board)) == 3 and page.exists()


def test_the_same_run_is_refused_twice(eval_runs, tmp_path):
    submit(eval_runs["expert"], tmp_path)
    with pytest.raises(SubmissionError, match="already on the board as alfworld-procgen-test-expert-"):
        submit(eval_runs["expert"], tmp_path)


def _tampered_line(path, change):
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    change(row)
    lines[0] = json.dumps(row, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")


def test_a_tampered_episode_line_is_refused(run_copy, tmp_path):
    run = run_copy("random")
    _tampered_line(run / "episodes.jsonl", lambda row: row.update(won=True, score=1.0))
    with pytest.raises(SubmissionError) as info:
        submit(run, tmp_path / "board")
    message = str(info.value)
    for field in ("episodes_sha256", "success_rate", "score_mean", "success_ci95", "per_task_type"):
        assert field in message, message
    assert not (tmp_path / "board" / "submissions").exists()


def test_a_tampered_log_that_keeps_the_figures_is_still_refused(run_copy, tmp_path):
    run = run_copy("random")
    _tampered_line(run / "episodes.jsonl", lambda row: row.update(actions=["look"]))
    with pytest.raises(SubmissionError, match="episodes_sha256") as info:
        submit(run, tmp_path)
    assert "success_rate" not in str(info.value)


@pytest.mark.parametrize("field, value", [("score_mean", 0.99), ("mean_steps", 3.0), ("errors", 1)])
def test_a_tampered_results_file_is_refused_naming_the_field(run_copy, tmp_path, field, value):
    run = run_copy("noisy-expert")
    record = json.loads((run / "results.json").read_text())
    assert record[field] != value
    (run / "results.json").write_text(json.dumps({**record, field: value}))
    with pytest.raises(SubmissionError, match=f"the record does not match the run: {field} \\(record ") as info:
        submit(run, tmp_path)
    assert "episodes_sha256" not in str(info.value)


def test_a_changed_config_is_refused(run_copy, tmp_path):
    run = run_copy()
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "seed": 99}))
    with pytest.raises(SubmissionError, match="config_hash"):
        submit(run, tmp_path)


@pytest.mark.parametrize("damage, fragment", [
    (lambda p: p.write_bytes(p.read_bytes()[:-5]), "last line is incomplete"),
    (lambda p: p.write_text(p.read_text() + "{not json}\n"), "not valid JSON"),
    (lambda p: p.write_text(p.read_text() + p.read_text().splitlines()[0] + "\n"), "each once"),
    (lambda p: _tampered_line(p, lambda row: row.update(score=3.0)), "score: Input should be less than or equal to 1"),
    (lambda p: _tampered_line(p, lambda row: row.pop("won")), "won: missing"),
    (lambda p: p.unlink(), "no episodes.jsonl"),
])
def test_a_damaged_log_is_refused_in_one_line_per_problem(run_copy, tmp_path, damage, fragment):
    run = run_copy()
    damage(run / "episodes.jsonl")
    with pytest.raises(SubmissionError, match=fragment):
        submit(run, tmp_path)


def test_submit_cli_accepts_then_refuses_with_exit_2(run_copy, tmp_path):
    run = run_copy("expert")
    cmd = [sys.executable, "-m", "serl_bench", "leaderboard", "submit", str(run), "--board", str(tmp_path / "b")]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0 and "accepted" in first.stdout and "rendered" in first.stdout, first.stderr
    assert (tmp_path / "b" / "index.html").exists()
    second = subprocess.run(cmd, capture_output=True, text=True)
    assert second.returncode == 2 and second.stderr.count("\n") == 1 and "already on the board" in second.stderr


def test_a_panel_played_at_a_sampling_temperature_is_another_panel():
    from pathlib import Path

    from serl_bench.leaderboard._validate import read_submission
    from serl_bench.results import panel_of

    board = Path(__file__).resolve().parents[2] / "leaderboard" / "submissions"
    react = [read_submission(p)[0] for p in sorted(board.glob("webshop-test-react-*.json"))]
    panels = {r.protocol.temperature: panel_of(r) for r in react}
    assert panels[0.0].endswith(", 15 steps") and panels[0.4] == panels[0.0] + ", sampled at T 0.4"
