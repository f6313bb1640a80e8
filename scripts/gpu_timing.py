"""On a GPU: one GRPO update vs one SERL update on the same batch, and rollout generation tokens/s.

No weights are downloaded: the policy is a Llama-style model built from a config at the target size
(0.5B or 1.5B, Qwen2.5-like shapes) with the bundled SmolLM2 tokenizer's vocabulary. The batch is
synthetic but shaped like ALFWorld's: ~500-token prompts, 64-token responses whose last tokens are the
action, half the samples with a positive and half with a negative advantage, and teacher prompts that
add a ~150-token hindsight context. Prints one JSON report.

    python scripts/gpu_timing.py --tokenizer DIR [--size 0.5b] [--samples 64] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from serl_bench.methods import build_method
from serl_bench.training import TrainConfig
from serl_bench.training._learner import Learner
from serl_bench.training._samples import Sample

SIZES = {
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
             "num_key_value_heads": 2},  # a dry run on a CPU
    "0.5b": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
             "num_key_value_heads": 2},
    "1.5b": {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
             "num_key_value_heads": 2},
}


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def build_model(size: str, vocab: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, max_position_embeddings=4096, tie_word_embeddings=True, **SIZES[size])
    return LlamaForCausalLM(config).to(device=DEVICE, dtype=torch.bfloat16)


def samples(n: int, vocab: int, prompt: int = 500, response: int = 64, context: int = 150) -> list[Sample]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        p = torch.randint(100, vocab, (prompt,), generator=g).tolist()
        r = torch.randint(100, vocab, (response,), generator=g).tolist()
        mask = [response - 12 <= t < response - 3 for t in range(response)]  # the action, before "</action>"
        out.append(Sample(group=i // 8, rollout=i % 8, step=0, prompt_ids=tuple(p), response_ids=tuple(r),
                          action_mask=tuple(mask), advantage=1.0 if i % 2 else -1.0,
                          teacher_prompt_ids=tuple(p + torch.randint(100, vocab, (context,), generator=g).tolist())))
    return out


def time_update(method: str, size: str, vocab: int, batch: list[Sample], reps: int) -> dict:
    config = TrainConfig(method=method, dtype="bfloat16", device=DEVICE, minibatch=len(batch), micro_batch=16,
                         gradient_checkpointing=DEVICE == "cuda", train_layers=0, drop_zero_advantage=False)
    trainer_method = build_method(method)[0]
    trainer_method.begin_update(0)
    learner = Learner(config, trainer_method, build_model(size, vocab), compute_dtype=torch.bfloat16)
    learner.learn(batch, 0)  # warm-up: kernels, optimizer state
    sync()
    start = time.perf_counter()
    for k in range(reps):
        metrics = learner.learn(batch, 1 + k)
    sync()
    seconds = (time.perf_counter() - start) / reps
    del learner
    if DEVICE == "cuda":
        torch.cuda.empty_cache()
    return {"seconds_per_update": round(seconds, 3), "teacher_samples": metrics["teacher/samples_scored"]}


def rollout_speed(size: str, vocab: int, batch: int, new_tokens: int = 128, prompt: int = 400) -> dict:
    """Generation tokens/s: transformers ``generate`` and serl-bench's decoding loop (per-row seeds; here every
    row distinct, so no prompt is shared), greedy, a fixed number of new tokens."""
    from serl_bench.models import SamplingParams
    from serl_bench.models._decode import decode

    model = build_model(size, vocab).eval()
    ids = torch.randint(100, vocab, (batch, prompt), device=DEVICE)
    kwargs = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False, "pad_token_id": 0}
    out = {"batch": batch}
    with torch.inference_mode():
        model.generate(ids[:, :16], max_new_tokens=8, min_new_tokens=8, do_sample=False, pad_token_id=0)
        sync()
        start = time.perf_counter()
        model.generate(ids, **kwargs)
        sync()
        out["generate_tokens_per_s"] = round(batch * new_tokens / (time.perf_counter() - start), 1)
        start = time.perf_counter()
        decoded = decode(model, ids.tolist(), SamplingParams(max_new_tokens=new_tokens), [None] * batch,
                         eos=set(), pad=0)
        sync()
        out["decode_tokens_per_s"] = round(sum(len(d.token_ids) for d in decoded) / (time.perf_counter() - start), 1)
    del model
    if DEVICE == "cuda":
        torch.cuda.empty_cache()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokenizer", required=True, help="folder with the bundled model's tokenizer files")
    parser.add_argument("--size", default="0.5b", choices=sorted(SIZES))
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    vocab = len(AutoTokenizer.from_pretrained(args.tokenizer))
    batch = samples(args.samples, vocab)
    report = {"device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu", "torch": torch.__version__,
              "size": args.size,
              "samples": args.samples, "tokens_per_sample": 564}
    report["grpo"] = time_update("grpo", args.size, vocab, batch, args.reps)
    report["serl"] = time_update("serl", args.size, vocab, batch, args.reps)
    report["serl_over_grpo"] = round(report["serl"]["seconds_per_update"] / report["grpo"]["seconds_per_update"], 3)
    report["rollout_bf16"] = [rollout_speed(args.size, vocab, b) for b in (8, 64)]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
