import json
import subprocess
import sys

import pytest

from serl_bench.compare import fisher_exact, load_runs, plot, table
from serl_bench.errors import ConfigError
from serl_bench.leaderboard import SubmissionError


@pytest.mark.parametrize("k1, n1, k2, n2, p", [
    (3, 10, 7, 10, 0.178895),  # scipy.stats.fisher_exact reference value
    (0, 6, 5, 6, 12 / 792),  # by hand: the two extreme tables, 6/792 each
    (4, 4, 0, 4, 2 / 70),
    (1, 1, 0, 1, 1.0),
    (5, 10, 5, 10, 1.0),
])
def test_fisher_exact_matches_reference_values(k1, n1, k2, n2, p):
    assert fisher_exact(k1, n1, k2, n2) == pytest.approx(p, rel=1e-5)
    assert fisher_exact(k2, n2, k1, n1) == pytest.approx(p, rel=1e-5)


def test_compare_table_has_intervals_p_values_and_task_types(eval_runs):
    runs = load_runs([eval_runs["expert"], eval_runs["noisy-expert"], eval_runs["random"]])
    expert, noisy, rand = runs
    assert expert.p_value is None and rand.wins == 0 and expert.wins == 6
    assert rand.p_value == pytest.approx(fisher_exact(0, 6, 6, 6))
    text = table(runs)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["run", "method", "env/split"]
    assert lines[2].startswith("expert") and "100.0 [61.0, 100.0]" in lines[2] and lines[4].startswith("random")
    assert f"{rand.p_value:.3g}" in lines[4]
    types = text.split("success per task type (episodes)")[1]
    assert "pick_two_obj_and_place" in types and "0 % (1)" in types and "Fisher exact" in text
    assert noisy.score_ci95[0] <= noisy.record.score_mean <= noisy.score_ci95[1]


def test_plot_writes_a_png_bar_chart(eval_runs, tmp_path):
    from matplotlib.image import imread

    path = plot(load_runs([eval_runs["expert"], eval_runs["random"]]), tmp_path / "cmp.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert imread(path).shape[1] == 660  # one panel (no training curves): 6 in at 110 dpi
    with pytest.raises(ConfigError, match="ending in .png"):
        plot(load_runs([eval_runs["expert"]]), tmp_path / "cmp.pdf")


def test_compare_refuses_what_is_not_a_finished_run(eval_runs, tmp_path):
    with pytest.raises(SubmissionError, match="not a run directory"):
        load_runs([tmp_path / "nope"])
    with pytest.raises(SubmissionError, match="holds no results.json"):
        load_runs([tmp_path])
    with pytest.raises(ConfigError, match="at least one"):
        load_runs([])


def test_compare_cli_json_and_errors(eval_runs, tmp_path):
    cmd = [sys.executable, "-m", "serl_bench", "compare", str(eval_runs["expert"]), str(eval_runs["random"])]
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [d["run"] for d in data] == ["expert", "random"] and data[1]["p_value_vs_first"] < 0.01
    bad = subprocess.run([*cmd, "--plot", str(tmp_path / "x.svg")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_compare_plots_learning_curves_of_real_training_runs(tmp_path, small_split, looking_model, eval_runs):
    from matplotlib.image import imread

    from serl_bench.training import TrainConfig, train
    from tests.conftest import CLASSIC_LOOP

    config = TrainConfig(**CLASSIC_LOOP, method="grpo", model=str(looking_model), updates=2, eval_every=1,
                         split="procgen-test",
                         eval_split="procgen-test", env_args={"games_per_type": 2}, tasks_per_update=1,
                         group_size=2, max_steps=2, max_new_tokens=4, eval_episodes=2, minibatch=8, micro_batch=4,
                         history=0)
    trained = train(config, out=tmp_path / "grpo", progress=False).path
    runs = load_runs([eval_runs["expert"], trained])
    assert [m["update"] for m in runs[1].curve] == [0, 1]
    assert all("eval/success_rate" in m and "charts/score_mean" in m for m in runs[1].curve)
    path = plot(runs, tmp_path / "curves.png")
    assert imread(path).shape[1] == 1650  # three panels: success and score vs updates, and the bars
    assert "grpo" in table(runs) and "alfworld/procgen-test" in table(runs)


def test_compare_gives_no_p_value_across_panels(eval_runs, tmp_path):
    from serl_bench.harness import EvalConfig, evaluate

    shorter = evaluate(EvalConfig(method="random", episodes=2, max_steps=10, env_args={"games_per_type": 2}),
                       out=tmp_path / "random-10-steps", progress=False).path
    runs = load_runs([eval_runs["expert"], shorter, eval_runs["random"]])
    assert runs[1].p_value is None and runs[2].p_value is not None  # 10-step episodes are another panel
    assert runs[0].panel.endswith("50 steps") and runs[1].panel.endswith("10 steps")
    text = table(runs)
    assert "other panel" in text.splitlines()[3]
    assert "NOT COMPARABLE: random-10-steps ran alfworld" in text and text.count("NOT COMPARABLE") == 1
    from serl_bench.compare import as_json

    assert [d["comparable_with_first"] for d in as_json(runs)] == [True, False, True]
