#!/usr/bin/env bash
# GPU check for accuracy at scale: on one CUDA device, a paper-recipe training step (bf16 AMP, batch 128, 224 px)
# for PVTv2-B0 and -B2, pvtlab vs timm (images/s ratio, peak memory), plus pvtlab.measure's throughput and memory
# cells on CUDA; prints one table. Run from the repository root:
#     bash benchmarks/gpu_check.sh            # extra arguments go to benchmarks/gpu_check.py, e.g. --channels-last
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: torch sees no CUDA device; nothing to check (CPU smoke mode: see benchmarks/gpu_check.py)" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python benchmarks/gpu_check.py --device cuda --models pvt_v2_b0 pvt_v2_b2 --size 224 --batch 128 --amp bfloat16 "$@"
