"""One GRPO update of the default CPU profile, before and after this release's CPU work, on the same groups.

The batch: 2 WebShop tasks x G 8 rollouts by a noisy expert in the LLM agents' format (successes and
failures; the bundled 135M model in fp32 learns from it).

* ``before`` — what an update was: the ``standard`` prompt, the old policy scored in a pass of its own,
  every (prompt, response) pair through the whole model, the whole model trained.
* ``after`` — what it is now: the ``compact`` prompt, no old-policy pass where the first minibatch's own
  forward gives it, shared prompts run once, samples without signal left out, the top 8 layers trained.

Measure with ``pytest tests/benchmarks/test_update_paths.py --benchmark-enable``.
"""

import pytest
import torch

from tests.conftest import benchmarks_disabled

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def groups(request):
    """Two WebShop groups of 8, in both prompt styles, played by the same noisy expert (same actions); one
    group (task 11: it has failures, so a signal) without benchmarks (the default run checks that both paths run)."""
    tasks = (11,) if benchmarks_disabled(request.config) else (3, 11)
    import gymnasium as gym

    from serl_bench.baselines.sft import ExpertInLLMFormat
    from serl_bench.models import HFBackend
    from serl_bench.rollouts import collect_group
    from serl_bench.trajectories import Batch

    backend = HFBackend("default", dtype="float32")
    env = gym.make("serl/WebShop-v0", split="train")
    out = {}
    try:
        for style, history in (("standard", 1), ("compact", 2)):
            agent = ExpertInLLMFormat(backend, history=history, epsilon=0.4, prompt=style)
            out[style] = Batch(tuple(collect_group(env, [("noisy", agent)], task_id=k, group_size=8, seed=7 * k,
                                                   max_steps=15) for k in tasks))
    finally:
        env.close()
    return backend, out


def _samples(backend, batch):
    from serl_bench.methods import build_method
    from serl_bench.training._samples import build_samples

    grpo = build_method("grpo")[0]
    return build_samples(batch, backend.tokenizer, [grpo.step_advantages(g) for g in batch.groups])


def _update_before(model, samples, optimizer, micro_batch=8):
    """The old path: an old-policy pass, then the clipped surrogate over every pair, unshared, whole model."""
    from serl_bench.training._policy import _score_padded, clipped_surrogate

    def padded(indices, grad):
        with torch.set_grad_enabled(grad):
            out = {}
            for start in range(0, len(indices), micro_batch):
                out.update(_score_padded(model, [s.prompt_ids for s in samples], [s.response_ids for s in samples],
                                         indices[start:start + micro_batch], None, False, 1.0))
            return out

    everyone = list(range(len(samples)))
    old = padded(everyone, grad=False)
    optimizer.zero_grad(set_to_none=True)
    total = sum(s.length for s in samples)
    for start in range(0, len(samples), micro_batch):
        micro = everyone[start:start + micro_batch]
        scored = padded(micro, grad=True)
        loss = sum(clipped_surrogate(scored[i][0], old[i][0], torch.full_like(scored[i][0], samples[i].advantage),
                                     0.2)[0] for i in micro) / total
        loss.backward()
    optimizer.step()


@pytest.mark.parametrize("path", ["before", "after"])
def test_update(benchmark, request, groups, tmp_path, path):
    from transformers import AutoModelForCausalLM

    from serl_bench.methods import build_method
    from serl_bench.training import TrainConfig
    from serl_bench.training._learner import Learner

    backend, batches = groups
    samples = _samples(backend, batches["standard" if path == "before" else "compact"])
    if benchmarks_disabled(request.config):  # the default test run: only that both paths run
        samples = [s for s in samples if s.advantage != 0][:4]
    assert any(s.advantage != 0 for s in samples), "an update benchmark without a learning signal measures nothing"
    model = AutoModelForCausalLM.from_pretrained(backend.ref.location, dtype=torch.float32)
    benchmark.group = "one GRPO update of the default CPU profile: 2 WebShop groups of 8"
    if path == "before":
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
        benchmark.pedantic(lambda: _update_before(model, samples, optimizer), rounds=1, warmup_rounds=0)
    else:
        config = TrainConfig(method="grpo", env="webshop", model="default", train_layers=8, minibatch=256,
                             micro_batch=8, lr=1e-6, drop_zero_advantage=True)
        learner = Learner(config, build_method("grpo")[0], model, compute_dtype=torch.float32)
        kept = [s for s in samples if s.advantage != 0]
        benchmark.pedantic(lambda: learner.learn(kept, 0), rounds=1, warmup_rounds=0)
    if benchmark.stats:
        benchmark.extra_info.update(path=path, samples=len(samples),
                                    prompt_tokens=sum(len(s.prompt_ids) for s in samples))
