"""Training runs that die (a full disk, a kill mid-write or mid-checkpoint) resume to the right figures: torn
metric lines are cut, damaged ones named, staging folders cleaned, and the wall clock summed over segments."""

import json
import shutil
import time

import pytest
import torch

from serl_bench.baselines.grpo import GRPO
from serl_bench.errors import RunDirError
from serl_bench.methods import register_method
from serl_bench.training import TrainConfig, train
from tests.conftest import CLASSIC_LOOP

SMALL = dict(**CLASSIC_LOOP, split="procgen-test", eval_split="procgen-test", env_args={"games_per_type": 2},
             tasks_per_update=1, group_size=2, max_steps=2, max_new_tokens=4, eval_episodes=1, minibatch=8,
             micro_batch=4, history=0)


@register_method("grpo-fills-the-disk", kind="rl")
class FillsTheDisk(GRPO):
    """GRPO whose second update finds the disk full, while ``armed``: ``metrics.jsonl`` becomes a link to
    /dev/full (every write fails with ENOSPC); the lines written so far are moved to ``metrics.kept``."""

    armed = False

    def collect(self, trainer, update):
        if update == 1 and self.armed:
            metrics = trainer.run.metrics_path
            metrics.rename(metrics.with_name("metrics.kept"))
            metrics.symlink_to("/dev/full")
        return super().collect(trainer, update)


def config(model):
    return TrainConfig(**{**SMALL, "checkpoint_every": 1}, method="grpo-fills-the-disk", model=str(model), updates=2)


@pytest.fixture(scope="module")
def dead_run(tmp_path_factory, small_split, random_model):
    """A run whose disk filled up in its second update, made resumable again (the disk has room now)."""
    out = tmp_path_factory.mktemp("dead") / "run"
    FillsTheDisk.armed = True
    try:
        with pytest.raises((RunDirError, OSError)) as info:  # the test below wants the one-line RunDirError
            train(config(random_model), out=out, progress=False)
    finally:
        FillsTheDisk.armed = False
    (out / "metrics.jsonl").unlink()
    (out / "metrics.kept").rename(out / "metrics.jsonl")
    return out, info.value


def test_a_full_disk_mid_run_is_one_line_and_keeps_what_was_written(dead_run):
    out, error = dead_run
    assert isinstance(error, RunDirError)
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"cannot write {out / 'metrics.jsonl'}: No space left on device; everything written "
                              "before is kept")
    assert [json.loads(line)["update"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [0]
    state = torch.load(out / "checkpoints" / "last" / "state.pt", weights_only=True)
    assert state["update"] == 0
    assert not (out / ".lock").exists() and not list((out / "checkpoints").glob(".staging-*"))


def resumed_copy(dead_run, tmp_path, random_model, damage):
    out = shutil.copytree(dead_run[0], tmp_path / "run", symlinks=True)
    damage(out)
    return out, config(random_model)


def test_a_torn_metrics_line_and_a_stale_staging_folder_are_repaired_on_resume(dead_run, tmp_path, random_model):
    def damage(out):
        with open(out / "metrics.jsonl", "a") as f:
            f.write('{"update": 1, "charts/succ')  # killed mid-write
        stale = out / "checkpoints" / ".staging-999999" / "model"
        stale.mkdir(parents=True)  # killed mid-checkpoint
        (stale / "model.safetensors").write_bytes(b"\0" * 1000)

    out, c = resumed_copy(dead_run, tmp_path, random_model, damage)
    result = train(c, out=out, resume=True, progress=False)
    assert [json.loads(line)["update"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["last"]
    assert result.record.training.updates == 2


def test_the_wall_clock_is_summed_over_the_segments_of_a_resumed_run(dead_run, tmp_path, random_model):
    out, c = resumed_copy(dead_run, tmp_path, random_model, lambda out: None)
    first = torch.load(out / "checkpoints" / "last" / "state.pt", weights_only=True)["totals"]["wall_clock_s"]
    assert first > 0  # the first segment's time up to its checkpoint
    began = time.time()
    result = train(c, out=out, resume=True, progress=False)
    second = time.time() - began
    assert first <= result.record.training.wall_clock_s <= first + second + 0.1


@pytest.mark.parametrize("line", ["[]", "{}", "NaN", '{"update": "x"}'])
def test_a_damaged_metrics_line_on_resume_is_named(dead_run, tmp_path, random_model, line):
    def damage(out):
        (out / "metrics.jsonl").write_text(line + "\n" + (out / "metrics.jsonl").read_text())

    out, c = resumed_copy(dead_run, tmp_path, random_model, damage)
    with pytest.raises(RunDirError, match=f"{out / 'metrics.jsonl'}:1 .*cannot be resumed") as info:
        train(c, out=out, resume=True, progress=False)
    assert "\n" not in str(info.value)


def test_a_checkpoint_cut_off_while_being_replaced_is_put_back(tmp_path):
    from serl_bench.training._trainer import recover_checkpoints

    folder = tmp_path / "checkpoints"
    (folder / ".previous").mkdir(parents=True)  # killed between moving last aside and moving the new one in
    (folder / ".previous" / "state.pt").write_text("update 4")
    (folder / ".staging-12345" / "model").mkdir(parents=True)
    recover_checkpoints(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["last"]
    assert (folder / "last" / "state.pt").read_text() == "update 4"
    (folder / ".previous").mkdir()  # killed after the new one moved in: the old one is only left over
    recover_checkpoints(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["last"]


def test_a_full_disk_while_checkpointing_is_one_line_and_keeps_the_last_checkpoint(tmp_path, small_split,
                                                                                     random_model):
    from tests.filesystems import small_filesystem

    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    with small_filesystem(out / "checkpoints", "100k"):  # room for one tiny checkpoint, not for two
        with pytest.raises(RunDirError) as info:
            train(TrainConfig(**{**SMALL, "checkpoint_every": 1}, method="grpo", model=str(random_model), updates=2),
                  out=out, progress=False)
        message = str(info.value)
        assert "\n" not in message and "No space left on device" in message, message
        assert message.startswith("cannot write the checkpoint of update 1") and "--resume" in message
        assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["last"]
        assert torch.load(out / "checkpoints" / "last" / "state.pt", weights_only=True)["update"] == 0
    assert [json.loads(line)["update"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1]


def test_older_checkpoints_are_kept_model_only_and_the_last_drops_its_optimizer(tmp_path, small_split,
                                                                                random_model):
    from serl_bench.training._trainer import load_state

    run = train(TrainConfig(**{**SMALL, "checkpoint_every": 1}, method="grpo", model=str(random_model), updates=4,
                            keep_checkpoints=3), out=tmp_path / "keep", progress=False)
    folder = run.path / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["last", "update-1", "update-2"]  # the last 3 of 4
    assert all(not (folder / f"update-{k}" / "state.pt").exists() and (folder / f"update-{k}" / "model").is_dir()
               for k in (1, 2))
    from serl_bench.models import resolve_model

    older = resolve_model(str(folder / "update-2" / "model"))  # evaluates that checkpoint, not the last one
    assert (older.kind, older.name, older.location) == ("run", "keep@update-2", str((folder / "update-2" / "model")
                                                                                    .resolve()))
    assert resolve_model(str(folder / "last" / "model")).name == resolve_model(str(run.path)).name == "keep"
    state = load_state(folder / "last" / "state.pt", "cpu")
    assert state["update"] == 3 and state["optimizer"] is None  # a finished run resumes only to evaluate
    again = train(TrainConfig(**{**SMALL, "checkpoint_every": 1}, method="grpo", model=str(random_model), updates=4,
                              keep_checkpoints=3), out=tmp_path / "keep", resume=True, progress=False)
    assert again.record.episodes == run.record.episodes
    one = train(TrainConfig(**{**SMALL, "checkpoint_every": 1}, method="grpo", model=str(random_model), updates=2),
                out=tmp_path / "one", progress=False)
    assert [p.name for p in (one.path / "checkpoints").iterdir()] == ["last"]
