"""Data-parallel training: two gloo ranks launched by torchrun train the weights one process trains.

Each rank plays half of the update's episodes and scores half of each minibatch; DDP synchronises the
gradients. After the run the checkpoint rank 0 wrote must equal (within float tolerance: the sums run in
another order) the checkpoint of a single-process run with the same config, and so must the metrics."""

import json
import os
import subprocess
import sys

import pytest
import torch

from serl_bench.training import TrainConfig, train
from tests.conftest import checkpoint_weights, metrics_without_times

pytestmark = pytest.mark.slow

SETTINGS = dict(env="webshop", method="sft", updates=2, tasks_per_update=2, group_size=1, minibatch=64,
                micro_batch=2, max_new_tokens=4, eval_episodes=2, eval_batch=2, eval_before=False,
                checkpoint_every=0, lr=1e-3, prompt="compact", history=2, train_layers=0, seed=3)


def test_two_gloo_ranks_train_the_weights_one_process_trains(random_model, tmp_path):
    settings = {**SETTINGS, "model": str(random_model)}
    single = train(TrainConfig(**settings), out=tmp_path / "single", progress=False)
    config = tmp_path / "run.json"
    config.write_text(json.dumps(settings))
    out = tmp_path / "ranks"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "serl_bench", "run", "--config", str(config), "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = checkpoint_weights(single.path), checkpoint_weights(out)
    assert a.keys() == b.keys()
    before = checkpoint_weights(random_model)
    moved = max(float((a[k] - before[k]).abs().max()) for k in a)
    assert moved > 1e-4  # the updates did change the weights
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-5)
    one, two = metrics_without_times(single.path), metrics_without_times(out)
    assert [m["samples"] for m in one] == [m["samples"] for m in two] and all(m["samples"] > 0 for m in one)
    for m1, m2 in zip(one, two, strict=True):
        assert m1["charts/success_rate"] == m2["charts/success_rate"]
        assert m2["losses/nll"] == pytest.approx(m1["losses/nll"], rel=1e-4)
        # the synchronised gradient is the whole minibatch's (Adam would hide a gradient off by a factor)
        assert m2["losses/grad_norm"] == pytest.approx(m1["losses/grad_norm"], rel=1e-3)
    assert (out / "episodes.jsonl").read_text() == (single.path / "episodes.jsonl").read_text()
    assert done.stdout.count("run directory:") == 1  # rank 0 reports; rank 1 wrote nothing
