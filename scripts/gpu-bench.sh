#!/usr/bin/env bash
# The GPU figures in the README, in one call on a CUDA machine whose python3 already has
# torch (with Triton), transformers and numpy; nothing is installed and no model is needed.
#   scripts/gpu-bench.sh [OUT_DIR]      (results go to OUT_DIR, default $OUT or .)
# Steps, most wanted first, each under its own time limit (560 s in all at most), so a step
# that hangs or fails costs its limit and the rest still run:
#   the kernel's sweep of block sizes and warps; both shapes, four ways each, best of three;
#   where scoring's time goes (profiler) and the out-of-memory path, both shapes; the body
#   under torch.compile beside it as it is, both shapes.
# Three files come back: report.txt (what each step printed, and its exit code and seconds),
# results.jsonl (one JSON object per bench step) and log.txt (standard error of every step).
# DEVICE=cpu DIVIDE=256 scripts/gpu-bench.sh /tmp/dry tries the script itself on a CPU, with
# token counts divided by DIVIDE (card and sweep fail there: no nvidia-smi, no CUDA).
# Not yet run on a GPU: the limits are guesses from the work (12.6 million tokens through
# the 135M shape, 3.1 million through the 1.7B one, at the target speeds).
set -uo pipefail
out=${1:-${OUT:-.}}
mkdir -p "$out"
report=$out/report.txt results=$out/results.jsonl log=$out/log.txt
: >"$report"
: >"$results"
: >"$log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
status=0

say() { echo "$*" | tee -a "$report"; }

# step NAME LIMIT_S COMMAND...: run it, its stdout to the report (or, for --json, to
# results.jsonl and its table to the report), its stderr to the log
step() {
    local name=$1 limit=$2 started=$SECONDS rc
    shift 2
    say "== $name (at most $limit s): $*"
    echo "== $name" >>"$log"
    if [[ " $* " == *" --json "* ]]; then
        timeout -k 10 "$limit" "$@" >"$out/step.json" 2>>"$log"
        rc=$?
        if [ -s "$out/step.json" ]; then
            cat "$out/step.json" >>"$results"
            python3 -c 'import json, sys
from inspector.bench.shape import format_report
print(format_report(json.load(open(sys.argv[1]))))' "$out/step.json" | tee -a "$report"
        fi
        rm -f "$out/step.json"
    else
        timeout -k 10 "$limit" "$@" 2>>"$log" | tee -a "$report"
        rc=${PIPESTATUS[0]}
    fi
    [ "$rc" -eq 0 ] || { status=1; tail -5 "$log" | tee -a "$report"; }
    say "-- $name: exit $rc in $((SECONDS - started)) s"
}

device=${DEVICE:-cuda} divide=${DIVIDE:-1}
tokens() { echo $(($1 / divide)); }
step card 10 nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.sm --format=csv
step versions 20 python3 -c 'import sys, torch, triton, transformers, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "triton", triton.__version__, "transformers", transformers.__version__, "numpy", numpy.__version__)'
step sweep 50 python3 -m inspector.bench.kernel --sweep
bench=(python3 -m inspector bench --device "$device" --window 1024 --json)
step 135m 110 "${bench[@]}" --shape smollm2-135m --tokens "$(tokens 1048576)"
step 1.7b 110 "${bench[@]}" --shape smollm2-1.7b --tokens "$(tokens 262144)"
step 135m-checks 50 "${bench[@]}" --shape smollm2-135m --tokens "$(tokens 524288)" --profile --oom
step 1.7b-checks 50 "${bench[@]}" --shape smollm2-1.7b --tokens "$(tokens 524288)" --profile --oom
step 135m-compile 80 "${bench[@]}" --shape smollm2-135m --tokens "$(tokens 524288)" --repeats 2 --compile
step 1.7b-compile 80 "${bench[@]}" --shape smollm2-1.7b --tokens "$(tokens 131072)" --repeats 2 --compile
say "done in $SECONDS s, exit $status"
exit $status
