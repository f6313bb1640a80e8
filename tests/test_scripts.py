"""The GPU scripts stay runnable: a dry run of each on this CPU, at a tiny size."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_timing_runs_at_a_tiny_size(tiny_model):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_timing.py"), "--tokenizer", str(tiny_model),
                           "--size", "tiny", "--samples", "8", "--reps", "1"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["serl"]["teacher_samples"] > 0 and report["serl_over_grpo"] > 0
    assert all(r["generate_tokens_per_s"] > 0 and r["decode_tokens_per_s"] > 0 for r in report["rollout_bf16"])


@pytest.mark.slow
def test_the_gpu_experiment_script_describes_a_valid_grid(tmp_path, tiny_model):
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-experiment.sh"), str(tiny_model), str(tmp_path / "x"),
                           "1", "--dry-run"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "experiment: 3 arms x 3 seeds = 9 runs" in done.stdout and not (tmp_path / "x").exists()
