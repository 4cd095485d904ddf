#!/usr/bin/env bash
# The GPU figures in the README, in one call on a CUDA machine whose python3 already has
# torch (with Triton), transformers and numpy; nothing is installed and no model is needed.
#   scripts/gpu-bench.sh [OUT_DIR]      (JSON results and logs go to OUT_DIR, default: .)
# The kernel's sweep, then two shapes, four ways each, best of three; not yet timed on a GPU
# (estimated at a few minutes from the work: 12.6 million tokens through the 135M shape,
# 3.1 million through the 1.7B shape, at the target speeds).
set -uo pipefail
out=${1:-${OUT:-.}}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.sm --format=csv
python3 -c 'import torch, triton, transformers; print("torch", torch.__version__, "triton", triton.__version__, "transformers", transformers.__version__)'
status=0
# the kernel alone: block sizes and warp counts against the plain post-processing
python3 -m inspector.bench.kernel --sweep 2>&1 | tee "$out/sweep.txt" || status=1
for run in "smollm2-135m 1048576" "smollm2-1.7b 262144"; do
    set -- $run
    python3 -m inspector bench --shape "$1" --device cuda --tokens "$2" --window 1024 --json \
        >"$out/bench-$1.json" 2>"$out/bench-$1.log" || { status=1; tail -20 "$out/bench-$1.log"; }
done
for shape in smollm2-135m smollm2-1.7b; do
    [ -s "$out/bench-$shape.json" ] && python3 -c 'import json, sys
from inspector.bench.shape import format_report
print(format_report(json.load(open(sys.argv[1]))))' "$out/bench-$shape.json"
done
exit $status
