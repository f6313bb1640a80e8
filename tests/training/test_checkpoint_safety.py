"""Resuming never unpickles arbitrary objects: a crafted ``state.pt`` is refused before it can run code."""

import os

import pytest
import torch

from serl_bench.errors import RunDirError
from serl_bench.training._trainer import load_state


class _Payload:
    """Pickles to a call of os.system: what a hostile run directory would ship."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    state = tmp_path / "state.pt"
    torch.save({"update": 0, "optimizer": _Payload(marker)}, state)
    with pytest.raises(RunDirError, match="not a checkpoint state serl-bench wrote") as info:
        load_state(state, "cpu")
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_plain_state_loads(tmp_path):
    import random

    params = [torch.nn.Parameter(torch.ones(2))]
    optimizer = torch.optim.AdamW(params)
    params[0].grad = torch.ones(2)
    optimizer.step()
    path = tmp_path / "state.pt"
    torch.save({"update": 3, "optimizer": optimizer.state_dict(), "task_rng": random.Random(1).getstate(),
                "torch_rng": torch.get_rng_state(), "totals": {"rollouts": 4}}, path)
    state = load_state(path, "cpu")
    assert state["update"] == 3 and state["totals"] == {"rollouts": 4}
    rng = random.Random()
    rng.setstate(state["task_rng"])
    assert rng.random() == random.Random(1).random()


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x80\x04K\x01."])
def test_damaged_or_foreign_state_gets_one_line(tmp_path, content):
    path = tmp_path / "state.pt"
    path.write_bytes(content)
    with pytest.raises(RunDirError) as info:
        load_state(path, "cpu")
    assert "\n" not in str(info.value)
