"""One SERL update vs one GRPO update on the same batch (target: SERL <= 1.35x GRPO).

The model is built from a config at a small size with the bundled model's tokenizer (49k vocabulary), so
prompts have their real length (~500 tokens); the batch is two real ALFWorld groups of four noisy-expert
rollouts in the LLM format, with successes and failures. Measure with
``pytest tests/benchmarks/test_update_speed.py --benchmark-enable``.
"""

import pytest

from serl_bench.baselines.sft import ExpertInLLMFormat
from serl_bench.methods import build_method
from serl_bench.rollouts import collect_group
from serl_bench.rundir import RunDir
from serl_bench.training import TrainConfig
from serl_bench.training._trainer import Trainer
from serl_bench.trajectories import Batch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_llama(tmp_path_factory):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from serl_bench.models import resolve_model

    path = tmp_path_factory.mktemp("llama-12m")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("default").location)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=192, intermediate_size=512, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def batch(alfworld_env, small_llama, tmp_path_factory):
    trainer = _trainer(tmp_path_factory.mktemp("batch"), "grpo", small_llama, "immediate_feedback")
    agent = ExpertInLLMFormat(trainer.backend, history=1, epsilon=0.5)
    groups = tuple(collect_group(alfworld_env, [("noisy", agent)], task_id=task, group_size=4, seed=3 + 10 * task,
                                 max_steps=12) for task in (0, 6))
    return Batch(groups=groups)


def _trainer(tmp, method, model, feedback):
    from tests.conftest import CLASSIC_LOOP

    config = TrainConfig(**CLASSIC_LOOP, method=method, model=str(model), split="procgen-test",
                         eval_split="procgen-test",
                         env_args={"games_per_type": 2}, tasks_per_update=1, group_size=1,
                         feedback=feedback, minibatch=64, micro_batch=8)
    return Trainer(config, build_method(method)[0], RunDir.open(tmp / method, {}, resume=False), progress=False)


@pytest.mark.parametrize("feedback", ["immediate_feedback", "successful_trajectory|immediate_feedback"])
@pytest.mark.parametrize("method", ["grpo", "serl"])
def test_update(benchmark, batch, small_llama, tmp_path, method, feedback):
    if method == "grpo" and feedback != "immediate_feedback":
        pytest.skip("GRPO uses no feedback")
    trainer = _trainer(tmp_path, method, small_llama, feedback)
    benchmark.group = f"one update, {batch.steps} steps"
    metrics = benchmark.pedantic(lambda: trainer.update(batch, 0), rounds=3, warmup_rounds=1)
    assert "losses/policy_loss" in metrics
    if method == "serl":
        assert metrics["teacher/samples_scored"] > 0
