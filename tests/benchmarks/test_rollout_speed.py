"""Rollout speed, before and after this release's CPU work, side by side on the same WebShop group.

One step of a G = 8 group with the bundled model in fp32 (the trainer rolls out from its fp32 policy):
the group's first steps share a prompt (the same observation) and its later steps do not, so the
benchmark times both, over the real prompts an LLM agent writes for WebShop pages.

* ``before`` — what rollouts were: ``transformers.generate`` on the ``standard`` prompt (reason, then
  act; the last observation in the history; every admissible action listed), every row prefilled.
* ``after`` — what they are: serl-bench's decoding loop on the ``compact`` prompt, identical prompts
  prefilled once, generation stopped once the action is closed.

Each generates the same number of tokens (``NEW_TOKENS``, the stop string aside), so tokens per second
compare like for like. Measure with ``pytest tests/benchmarks/test_rollout_speed.py --benchmark-enable``.
"""

import pytest

from serl_bench.agents import ACTION_STOP
from serl_bench.models import SamplingParams

pytestmark = pytest.mark.slow
NEW_TOKENS = 24
GROUP = 8


@pytest.fixture(scope="module")
def backend():
    from serl_bench.models import HFBackend

    return HFBackend("default", dtype="float32")


@pytest.fixture(scope="module")
def pages(backend):
    """The prompts an LLM agent writes on the search page and the results page of 8 WebShop tasks, per style."""
    import gymnasium as gym

    from serl_bench.baselines.sft import ExpertInLLMFormat
    from serl_bench.rollouts import play

    env = gym.make("serl/WebShop-v0", split="train")
    out = {}
    try:
        for style, history in (("standard", 1), ("compact", 2)):
            steps = [play(env, ExpertInLLMFormat(backend, history=history, prompt=style), task_id=k, seed=k,
                          max_steps=15).steps for k in range(GROUP)]
            out[style] = {"first": [list(steps[0][0].messages)] * GROUP,  # a group's first step: one prompt
                          "later": [list(s[1].messages) for s in steps]}  # later steps: all different
    finally:
        env.close()
    return out


def _generate_before(backend, prompts):
    """Rollouts as they were: left-padded transformers.generate over every row, fp32 policy."""
    import torch

    tok, model = backend.tokenizer, backend.model
    texts = [backend.render(p) for p in prompts]
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=NEW_TOKENS, do_sample=True, temperature=1.0, top_p=1.0,
                             pad_token_id=tok.pad_token_id, return_dict_in_generate=True, output_scores=True)
        model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
    return (out.sequences.shape[1] - batch["input_ids"].shape[1]) * len(prompts)


def _generate_after(backend, prompts):
    params = SamplingParams(temperature=1.0, max_new_tokens=NEW_TOKENS, stop=ACTION_STOP)
    generations = backend.generate(prompts, params, seeds=list(range(len(prompts))))
    return sum(len(g.token_ids) for g in generations)


@pytest.mark.parametrize("step", ["first", "later"])
@pytest.mark.parametrize("path", ["before", "after"])
def test_group_step(benchmark, backend, pages, path, step):
    prompts = pages["standard" if path == "before" else "compact"][step]
    generate = _generate_before if path == "before" else _generate_after
    benchmark.group = f"rollout: one step of a WebShop group of {GROUP}, {step} step"
    tokens = benchmark.pedantic(lambda: generate(backend, prompts), rounds=3, warmup_rounds=1)
    prompt_tokens = sum(len(backend.tokenizer(backend.render(p)).input_ids) for p in prompts) // len(prompts)
    assert tokens > 0
    if benchmark.stats:
        benchmark.extra_info.update(path=path, prompt_tokens=prompt_tokens, new_tokens=tokens,
                                    tokens_per_s=round(tokens / benchmark.stats.stats.median, 1))
