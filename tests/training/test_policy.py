"""Scoring: a prompt shared by several responses runs once, with the same log-probabilities and gradients."""

import functools

import pytest
import torch

from serl_bench.training._policy import clipped_surrogate, score


@pytest.fixture(scope="module")
def model(random_model):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(random_model, dtype=torch.float32)


PROMPTS = [(5, 6, 7, 8, 9), (5, 6, 7, 8, 9), (10, 11, 12), (5, 6, 7, 8, 9)]
RESPONSES = [(20, 21, 22), (23,), (24, 25), (26, 27, 28, 29)]


def _alone(model):
    out = []
    for p, r in zip(PROMPTS, RESPONSES, strict=True):
        out.append(score(model, [p], [r], stats=True))
    return out


def test_shared_prompts_score_as_if_alone(model, monkeypatch):
    calls = []
    backbone = model.get_decoder()
    real = type(backbone).forward

    @functools.wraps(real)
    def counting(self, *args, **kwargs):
        calls.append(tuple(kwargs["input_ids"].shape))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(backbone), "forward", counting)
    together = score(model, PROMPTS, RESPONSES, micro_batch=8, stats=True)
    assert (1, 5) in calls  # the shared prompt ran once, as a batch of one
    monkeypatch.setattr(type(backbone), "forward", real)
    for k, alone in enumerate(_alone(model)):
        assert torch.allclose(together.logprobs[k], alone.logprobs[0], atol=1e-5)
        assert torch.allclose(together.entropies[k], alone.entropies[0], atol=1e-4)
        assert torch.equal(together.greedy[k], alone.greedy[0])


def test_shared_prompts_give_the_same_gradients(model):
    def grads(fn):
        model.zero_grad(set_to_none=True)
        fn().backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    shared = grads(lambda: sum(lp.sum() for lp in score(model, PROMPTS, RESPONSES, micro_batch=8).logprobs))
    alone = grads(lambda: sum(score(model, [p], [r]).logprobs[0].sum() for p, r in zip(PROMPTS, RESPONSES,
                                                                                      strict=True)))
    assert len(shared) == len(alone)
    for a, b in zip(shared, alone, strict=True):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_dual_clip_bounds_the_loss_of_negative_advantages():
    logprobs, old = torch.log(torch.tensor([5.0, 1.0])), torch.zeros(2)  # ratio 5 and 1
    adv = torch.tensor([-1.0, -1.0])
    plain, _ = clipped_surrogate(logprobs, old, adv, clip=0.2)
    dual, _ = clipped_surrogate(logprobs, old, adv, clip=0.2, dual_clip=3.0)
    assert float(plain) == pytest.approx(5.0 + 1.0)  # max(-A r, -A clip(r)) = 5 for ratio 5
    assert float(dual) == pytest.approx(3.0 + 1.0)  # at most -c A = 3
    positive, _ = clipped_surrogate(logprobs, old, -adv, clip=0.2, dual_clip=3.0)
    assert float(positive) == pytest.approx(-(1.2 + 1.0))  # positive advantages: the usual clip only
