"""SERL's token advantages against hand-computed values."""

import math

import pytest
import torch

from serl_bench.baselines.serl import SERL, lambda_at, serl_token_advantages
from serl_bench.training._samples import Sample

OLD = torch.tensor([-1.0, -2.0, -0.5, -3.0])
TEACHER = torch.tensor([-0.9, -1.0, -1.5, -3.0])  # delta = +0.1, +1.0, -1.0, 0.0
ACTION = torch.tensor([False, True, True, True])


def test_positive_advantage_up_weights_tokens_the_teacher_likes_more():
    adv, w = serl_token_advantages(2.0, OLD, TEACHER, ACTION, lam=0.5, clip=0.2)
    assert w.tolist() == pytest.approx([math.exp(0.1), 1.2, 0.8, 1.0])  # exp(+1)=2.72 -> 1.2, exp(-1)=0.37 -> 0.8
    expected = [2.0,  # not an action token: A_i untouched
                2.0 * (0.5 + 0.5 * 1.2), 2.0 * (0.5 + 0.5 * 0.8), 2.0 * (0.5 + 0.5 * 1.0)]
    assert adv.tolist() == pytest.approx(expected)


def test_negative_advantage_flips_the_sign_inside_the_weight_not_the_direction():
    adv, w = serl_token_advantages(-1.0, OLD, TEACHER, ACTION, lam=0.5, clip=0.2)
    assert w.tolist() == pytest.approx([math.exp(-0.1), 0.8, 1.2, 1.0])  # exp(-delta)
    assert adv.tolist() == pytest.approx([-1.0, -0.9, -1.1, -1.0])
    assert (adv < 0).all()  # feedback changes magnitude, never the sign the reward chose


def test_zero_advantage_stays_zero_and_lambda_zero_is_grpo():
    adv, _ = serl_token_advantages(0.0, OLD, TEACHER, ACTION, lam=0.5, clip=0.2)
    assert adv.tolist() == [0.0] * 4
    adv, _ = serl_token_advantages(1.5, OLD, TEACHER, ACTION, lam=0.0, clip=0.2)
    assert adv.tolist() == [1.5] * 4


@pytest.mark.parametrize("k, expected", [(0, 0.5), (10, 0.4), (25, 0.25), (49, 0.01), (50, 0.0), (80, 0.0)])
def test_lambda_decays_linearly_to_zero(k, expected):
    assert lambda_at(k, 0.5, 50) == pytest.approx(expected)


def _sample(advantage, mask, teacher=True):
    return Sample(group=0, rollout=0, step=0, prompt_ids=(1,), response_ids=(1, 2, 3, 4), action_mask=tuple(mask),
                  advantage=advantage, teacher_prompt_ids=(1, 2) if teacher else None)


def test_the_method_reweights_only_samples_with_a_context():
    method = SERL()
    method.begin_update(10)
    assert method.teacher_active and method.metrics()["serl/lambda"] == pytest.approx(0.4)
    with_context = method.token_advantages(_sample(2.0, ACTION.tolist()), OLD, OLD, TEACHER)
    assert with_context.tolist() == pytest.approx([2.0, 2.0 * (0.6 + 0.4 * 1.2), 2.0 * (0.6 + 0.4 * 0.8), 2.0])
    without = method.token_advantages(_sample(2.0, ACTION.tolist(), teacher=False), OLD, OLD, None)
    assert without.tolist() == [2.0] * 4
    assert method.metrics()["serl/reweighted_tokens"] == 3
    assert method.teacher_needed(_sample(2.0, ACTION.tolist()))
    assert not method.teacher_needed(_sample(0.0, ACTION.tolist()))  # A_i = 0: nothing to reweight
    assert not method.teacher_needed(_sample(2.0, [False] * 4))  # no action tokens


def test_once_lambda_is_zero_the_teacher_is_not_run():
    method = SERL(lambda0=0.5, decay_steps=4)
    method.begin_update(3)
    assert method.teacher_active
    method.begin_update(4)
    assert not method.teacher_active
