import math

import pytest

from serl_bench.models import SamplingParams
from serl_bench.models._hf import HFBackend

PROMPTS = [[{"role": "user", "content": "hi"}],
           [{"role": "user", "content": "a much longer question, so this batch needs left padding"}]]


@pytest.fixture(scope="module")
def backend(tiny_model):
    return HFBackend(str(tiny_model), dtype="float32")


def test_batched_generation_equals_one_by_one(backend):
    params = SamplingParams(max_new_tokens=6)
    batched = backend.generate(PROMPTS, params)
    alone = [backend.generate([p], params)[0] for p in PROMPTS]
    assert [g.token_ids for g in batched] == [g.token_ids for g in alone]
    for g in batched:
        assert g.text == "aaaaaa" and g.finish_reason == "length" and len(g.logprobs) == 6
        assert all(lp <= 0 and math.isfinite(lp) for lp in g.logprobs)
        assert g.prompt.endswith("assistant: ") and g.prompt_token_ids


def test_greedy_logprobs_are_the_uniform_distribution(backend):
    g = backend.generate(PROMPTS[:1], SamplingParams(max_new_tokens=3))[0]
    vocab = backend.model.config.vocab_size
    assert g.logprobs == pytest.approx([-math.log(vocab)] * 3, abs=1e-4)  # every logit is equal


def test_stop_strings_end_generation(backend):
    g = backend.generate(PROMPTS[:1], SamplingParams(max_new_tokens=20, stop=("aaa",)))[0]
    assert g.text == "aaa" and g.finish_reason == "stop"


def test_model_info_and_settings(backend, tiny_model):
    assert backend.info.source == "local" and backend.info.dtype == "float32" and backend.info.parameters > 0
    assert backend.describe()["device"] == "cpu"


@pytest.mark.slow
def test_the_bundled_model_answers(tmp_path):
    from serl_bench.models._hf import fast_cpu_dtype

    default = HFBackend("default")
    assert default.info.name == "SmolLM2-135M-Instruct"
    assert default.info.dtype == str(fast_cpu_dtype()).removeprefix("torch.")  # measured on this CPU
    g = default.generate([[{"role": "user", "content": "What is 2+2? Answer briefly."}]],
                         SamplingParams(max_new_tokens=16))[0]
    assert "4" in g.text and g.finish_reason == "stop"


def test_an_unreachable_hub_model_is_a_one_line_error(monkeypatch):
    import huggingface_hub.constants

    from serl_bench.errors import ConfigError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # read once, when huggingface_hub is first imported (in a full run, long before this test): set it there too,
    # or the hub is tried over a network this machine does not have until its retries run out (47 s)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigError, match="cannot load model 'nobody/no-such-model'.*offline, use --model default"):
        HFBackend("nobody/no-such-model")


@pytest.fixture(scope="module")
def random_backend(random_model):
    return HFBackend(str(random_model), dtype="float32")


def test_greedy_decoding_equals_transformers_generate(random_backend):
    import torch

    b = random_backend
    prompts = PROMPTS + [[{"role": "user", "content": "x" * 30}]]
    ours = b.generate(prompts, SamplingParams(max_new_tokens=8))
    for prompt, g in zip(prompts, ours, strict=True):
        ids = b.tokenizer(b.render(prompt), return_tensors="pt", add_special_tokens=False).input_ids
        with torch.no_grad():
            ref = b.model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=b.tokenizer.pad_token_id)
        expected = ref[0, ids.shape[1]:].tolist()
        assert list(g.token_ids) == expected[: len(g.token_ids)] and len(g.token_ids) >= 1


def test_each_row_samples_from_its_own_seed(random_backend):
    """An episode's tokens do not depend on the batch it was decoded in (harness: one; trainer: many)."""
    params = SamplingParams(temperature=1.0, max_new_tokens=10)
    prompts = PROMPTS * 2
    batched = random_backend.generate(prompts, params, seeds=[11, 12, 13, 14])
    alone = [random_backend.generate([p], params, seeds=[s])[0] for p, s in zip(prompts, [11, 12, 13, 14],
                                                                                   strict=True)]
    assert [g.token_ids for g in batched] == [g.token_ids for g in alone]
    assert batched[0].token_ids != batched[2].token_ids  # same prompt, other seed: another sample
    again = random_backend.generate(prompts, params, seeds=[11, 12, 13, 14])
    assert [g.token_ids for g in again] == [g.token_ids for g in batched]


def test_identical_prompts_are_prefilled_once_with_the_same_result(random_backend, monkeypatch):
    calls = []
    model = random_backend.model
    real = type(model).forward

    import functools

    @functools.wraps(real)
    def counting(self, *args, **kwargs):
        calls.append(kwargs["input_ids"].shape)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "forward", counting)
    params = SamplingParams(max_new_tokens=3)
    shared = random_backend.generate([PROMPTS[1]] * 4, params)
    assert calls[0][0] == 1  # one prefill row for four identical prompts
    alone = random_backend.generate([PROMPTS[1]], params)[0]
    assert all(g.token_ids == alone.token_ids for g in shared)


def test_top_p_keeps_the_most_likely_tokens():
    import torch

    from serl_bench.models._decode import _top_p

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(_top_p(logits, 0.7))[0].tolist()
    assert kept == [True, True, False, False]
    assert torch.isfinite(_top_p(logits, 0.01))[0].tolist() == [True, False, False, False]


def test_loading_a_model_shows_none_of_transformers_own_bars(tiny_model, capfd):
    import transformers

    from serl_bench.models._hf import load_hf

    transformers.utils.logging.enable_progress_bar()  # as a fresh process has it
    capfd.readouterr()
    load_hf(str(tiny_model), device="cpu")
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out


@pytest.mark.parametrize("omp, expected", [(None, {1, __import__("os").cpu_count()}), ("1", {1})])
def test_the_thread_count_is_measured_unless_omp_num_threads_says(omp, expected):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | ({"OMP_NUM_THREADS": omp} if omp else {})
    script = "import torch; from serl_bench.models._hf import cpu_threads; n = cpu_threads(); " \
             "assert n == torch.get_num_threads(); print(n)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) in expected
