#!/usr/bin/env bash
# The SERL-vs-GRPO experiment at GPU scale: the official run settings (profile paper-webshop: G 8, 16 tasks per
# update, lr 1e-6, 512 response tokens, history 2, validation at temperature 0.4), vLLM rollouts where vLLM is
# installed, GRPO / GiGPO / SERL from one warm start, 3 seeds, on WebShop's test split.
#
#   scripts/gpu-experiment.sh MODEL [OUT] [UPDATES] [more serl-bench experiment flags, e.g. --dry-run]
#
# MODEL is the starting policy: a model folder or hub id (the official scripts use Qwen2.5-7B-Instruct), or a run
# directory of an SFT warm start (`serl-bench run --method sft --profile gpu --model M --out runs/sft`).
set -euo pipefail
model=${1:?usage: scripts/gpu-experiment.sh MODEL [OUT] [UPDATES]}
out=${2:-runs/gpu-experiment}
updates=${3:-150}
shift $(( $# < 3 ? $# : 3 ))
backend=hf
python -c "import vllm" 2>/dev/null && backend=vllm
exec serl-bench experiment --env webshop --warm-start "$model" --methods grpo,gigpo,serl --seeds 0,1,2 \
    --budget-minutes 600 --train-arg profile=paper-webshop --train-arg backend=$backend \
    --train-arg updates="$updates" --train-arg device=cuda --train-arg dtype=bfloat16 \
    --train-arg prompt=standard --train-arg train_layers=0 --out "$out" "$@"
