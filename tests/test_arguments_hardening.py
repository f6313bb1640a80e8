"""Every argument is checked before anything is written: each bad value ends with one line on stderr, exit
status 2, and no run directory (no half-written config.json) behind it."""

import os
import subprocess
import sys

import pytest

from serl_bench.errors import ConfigError, UnknownNameError
from tests.conftest import assert_one_line_error, run_in_process


def serl_bench(*args, env=None):
    """The command, in this process unless it needs its own environment variables (then a real process)."""
    if env is None:
        return run_in_process(*args)
    return subprocess.run([sys.executable, "-m", "serl_bench", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)




@pytest.fixture(scope="module")
def bad_models(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("bad-models")
    (root / "only-config").mkdir()
    (root / "only-config" / "config.json").write_text((tiny_model / "config.json").read_text())
    (root / "list-config").mkdir()
    (root / "list-config" / "config.json").write_text("[1, 2]\n")
    (root / "empty.gguf").write_bytes(b"")
    (root / "garbage.gguf").write_bytes(os.urandom(1000).replace(b"GGUF", b"XXXX"))
    return root


_HAS_CUDA = __import__("torch").cuda.is_available()
_HAS_VLLM = __import__("importlib.util").util.find_spec("vllm") is not None
SMALL = ["--env-arg", "games_per_type=2", "--episodes", "1", "--no-progress"]
TRAIN = ["--env", "alfworld", "--no-eval-before", "--no-progress"]


@pytest.mark.parametrize("args, fragments", [
    (["eval", "--method", "random", "--seed", "-1"], ["--seed must be at least 0", "got -1"]),
    (["eval", "--method", "random", "--batch", "0"], ["--batch must be at least 1"]),
    (["eval", "--method", "noisy-expert", "--method-arg", "epsilon=2"], ["epsilon is a probability, in [0, 1]"]),
    (["eval", "--method", "noisy-expert", "--method-arg", "epsilon=x"], ["epsilon must be a number, got 'x'"]),
    (["eval", "--method", "random", "--env-arg", "games_per_type=-1"], ["games_per_type must be at least 1"]),
    (["eval", "--method", "random", "--env-arg", "games_per_type=0"], ["games_per_type must be at least 1"]),
    (["eval", "--method", "random", "--env-arg", "task_types=pick"], ["unknown ALFWorld task type 'pick'"]),
    (["eval", "--method", "random", "--env-arg", "task_types=3"], ["task_types must be a list of ALFWorld task"]),
    (["run", "--method", "grpo", "--temperature", "-1", *TRAIN], ["--temperature must be a finite number of at "
                                                                   "least 0.0, got -1.0"]),
    (["run", "--method", "grpo", "--lr", "nan", *TRAIN], ["--lr must be a finite number, got nan"]),
    (["run", "--method", "grpo", "--lr", "0", *TRAIN], ["--lr must be above 0"]),
    (["run", "--method", "grpo", "--seed", "-1", *TRAIN], ["--seed must be at least 0"]),
    (["run", "--method", "grpo", "--eval-temperature", "inf", *TRAIN], ["--eval-temperature must be a finite"]),
    (["run", "--method", "grpo", "--device", "tpu", *TRAIN], ["invalid choice: 'tpu'"]),
    (["run", "--method", "serl", "--feedback", "sucessful_trajectory", "--env", "alfworld", "--no-progress"],
     ["unknown feedback source 'sucessful_trajectory'"]),
    (["run", "--method", "grpo", "--env-arg", "foo=1", *TRAIN], ["env 'alfworld' takes no argument 'foo'"]),
    (["eval", "--method", "random", "--env-arg", "foo=1"],
     ["env 'alfworld' takes no argument 'foo'", "games_per_type"]),
    pytest.param(["run", "--method", "grpo", "--profile", "gpu", *TRAIN], ["--device cuda (the gpu profile's) needs"],
                 marks=pytest.mark.skipif(_HAS_CUDA, reason="this machine has a GPU")),
    pytest.param(["run", "--method", "grpo", "--backend", "vllm", "--device", "cpu", *TRAIN],
                 ["--backend vllm needs vLLM"], marks=pytest.mark.skipif(_HAS_VLLM, reason="vLLM is installed")),
])
def test_bad_values_are_one_line_and_write_nothing(tmp_path, small_split, tiny_model, args, fragments):
    out = tmp_path / "out"
    # before the case's own arguments, which win; a tiny model, so that nothing could build the warm start
    extra = SMALL if args[0] == "eval" else ["--model", str(tiny_model)]
    assert_one_line_error(serl_bench(args[0], *extra, *args[1:], "--out", str(out)), *fragments)
    assert not out.exists()


@pytest.mark.parametrize("model, fragments", [
    ("only-config", ["only-config holds no weights"]),
    ("list-config", ["list-config/config.json is a JSON list, not a model configuration"]),
    ("empty.gguf", ["empty.gguf is empty, so it is not a GGUF model file"]),
    ("garbage.gguf", ["garbage.gguf does not start with the GGUF magic bytes"]),
])
@pytest.mark.parametrize("command", ["eval", "run"])
def test_a_model_that_cannot_be_loaded_is_one_line_and_writes_nothing(tmp_path, bad_models, command, model,
                                                                     fragments):
    out = tmp_path / "out"
    args = ["eval", "--method", "react", *SMALL] if command == "eval" else ["run", "--method", "grpo", *TRAIN]
    assert_one_line_error(serl_bench(*args, "--model", str(bad_models / model), "--out", str(out)), *fragments)
    assert not out.exists()


def test_a_sampling_temperature_below_zero_is_refused(tmp_path, tiny_model):
    out = tmp_path / "out"
    result = serl_bench("eval", "--method", "react", "--model", str(tiny_model), "--method-arg", "temperature=-1",
                        *SMALL, "--out", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "serl-bench: error: temperature must be a finite number of at least 0 (0: greedy), got -1" in result.stderr
    assert not out.exists()


def test_a_cache_that_is_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "cache-file"
    blocker.write_text("x")
    out = tmp_path / "out"
    result = serl_bench("eval", "--method", "random", *SMALL, "--out", str(out), env={"SERL_BENCH_CACHE": str(blocker)})
    assert_one_line_error(result,
            f"cannot write ALFWorld games to the serl-bench cache {blocker}: Not a directory",
            "set SERL_BENCH_CACHE to a writable folder")
    assert not out.exists()


def test_a_read_only_cache_is_one_line(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()

    def check(reason):
        out = tmp_path / "out"
        result = serl_bench("eval", "--method", "random", *SMALL, "--out", str(out),
                            env={"SERL_BENCH_CACHE": str(cache)})
        assert_one_line_error(result, f"cannot write ALFWorld games to the serl-bench cache {cache}: {reason}")
        assert not out.exists()

    if os.geteuid() == 0:  # root writes to any folder, but not to a read-only filesystem
        from tests.filesystems import small_filesystem

        with small_filesystem(cache, read_only=True):
            check("Read-only file system")
    else:
        cache.chmod(0o555)
        try:
            check("Permission denied")
        finally:
            cache.chmod(0o755)


def test_a_run_config_that_is_a_list_is_one_line(tmp_path, small_split):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text("[]\n")
    assert_one_line_error(serl_bench("eval", "--method", "random", *SMALL, "--out", str(out), "--resume"),
            "config.json is not a run configuration (a JSON list, not an object)")
    assert (out / "config.json").read_text() == "[]\n"


def test_feedback_out_at_a_folder_is_one_line_before_any_work(tmp_path):
    result = serl_bench("feedback", "--env-arg", "games_per_type=2", "--no-progress", "--out", str(tmp_path))
    assert_one_line_error(result,
            f"--out {tmp_path} is a folder; name a file for the contexts")
    assert list(tmp_path.iterdir()) == []


def test_the_configs_check_their_values_from_python_too():
    from serl_bench.harness import EvalConfig
    from serl_bench.models import SamplingParams
    from serl_bench.training import TrainConfig

    with pytest.raises(UnknownNameError, match="unknown device 'tpu'"):
        TrainConfig(method="grpo", device="tpu")
    for bad in ({"lr": float("nan")}, {"temperature": -1.0}, {"seed": -1}, {"group_size": 0},
                {"max_grad_norm": float("inf")}, {"env_args": "games_per_type=2"}):
        with pytest.raises(ConfigError):
            TrainConfig(method="grpo", **bad).check()
    TrainConfig(method="grpo").check()
    for bad in ({"seed": -1}, {"episodes": 0}, {"batch": 0}, {"max_steps": 0}):
        with pytest.raises(ConfigError):
            EvalConfig(method="random", **bad).check()
    for bad in ({"temperature": -0.5}, {"temperature": float("nan")}, {"top_p": 0.0}, {"max_new_tokens": 0}):
        with pytest.raises(ConfigError):
            SamplingParams(**bad)


def test_task_types_are_read_as_a_list(small_split):
    import gymnasium as gym

    for task_types in ("pick_and_place_simple,look_at_obj_in_light", ["pick_and_place_simple",
                                                                       "look_at_obj_in_light"]):
        env = gym.make("serl/ALFWorld-v0", split="procgen-test", games_per_type=2, task_types=task_types)
        assert {g.task_type for g in env.unwrapped.split.tasks} == {"pick_and_place_simple", "look_at_obj_in_light"}
        env.close()
