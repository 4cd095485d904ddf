"""The fused post-processing kernel, measured: its resources when compiled for a GPU (no GPU
needed), and a sweep of block sizes and warp counts on one, each checked against the plain
post-processing.

`python -m inspector.bench.kernel [--capability 80]` and `... --sweep`.
"""

from __future__ import annotations

import os
from typing import Any

from inspector.lm.fused import BLOCK, GROUP, NUM_WARPS, fused_postprocess, interpreted, kernel


def compile_report(capability: int = 90) -> str:
    """Compile the kernel ahead of time for a CUDA compute capability (90: H100 and H200)
    without a GPU, and describe the machine code: 16-byte loads, registers, spills.

    Pointers and the row stride are declared 16-byte aligned, as Triton's launcher finds
    them at run time for float32 rows whose length is a multiple of 4.
    """
    import subprocess
    import tempfile

    import triton
    from triton.backends.compiler import GPUTarget

    if interpreted():
        raise RuntimeError("unset TRITON_INTERPRET to compile the kernel")
    names = ["logits_ptr", "row_stride", "targets_ptr", "nll_ptr", "entropy_ptr", "lse_ptr"]
    names += ["rank_ptr", "gmax_ptr", "vocab", "n_groups"]
    types = ["*fp32", "i64", "*i64", "*fp32", "*fp32", "*fp32", "*i32", "*fp32", "i32", "i32"]
    signature = dict(zip(names, types, strict=True)) | {"BLOCK": "constexpr", "GROUP": "constexpr"}
    source = triton.compiler.ASTSource(
        fn=kernel(),
        signature=signature,
        constexprs={"BLOCK": BLOCK, "GROUP": GROUP},
        attrs={(i,): [["tt.divisibility", 16]] for i in range(len(names))},
    )
    compiled = triton.compile(
        source, target=GPUTarget("cuda", capability, 32), options={"num_warps": NUM_WARPS}
    )
    tools = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as cubin:
        cubin.write(compiled.asm["cubin"])
        cubin.flush()
        usage = subprocess.run(
            [os.path.join(tools, "cuobjdump"), "--dump-resource-usage", cubin.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    resources = next(line.strip() for line in usage.splitlines() if line.strip().startswith("REG:"))
    ptx = compiled.asm["ptx"]
    return (
        f"row_stats for sm_{capability}, BLOCK {BLOCK}, {NUM_WARPS} warps: {resources}; "
        f"16-byte loads in the PTX: {ptx.count('ld.global.v4')}"
    )


def sweep(rows: int = 8192, vocab: int = 49152, k: int = 20, device: str = "cuda") -> str:
    """Time the fused post-processing at several block sizes and warp counts on random
    logits, next to `postprocess` and a plain copy of the logits (the memory
    bandwidth ceiling), checking each against the plain result. On a CPU (the interpreter,
    for tests) the times mean nothing."""
    import time

    import torch

    from inspector.lm.postprocess import postprocess

    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(0)
    logits = torch.randn(rows, vocab, device=dev, generator=g) * 3  # (rows, vocab)
    targets = torch.randint(0, vocab, (rows,), device=dev, generator=g)
    ref = postprocess(logits.clone(), targets, k)
    size = logits.numel() * 4

    def ms(fn: Any) -> float:
        if dev.type == "cuda":
            from triton.testing import do_bench

            return float(do_bench(fn, warmup=25, rep=200, return_mode="median"))
        started = time.perf_counter()
        fn()
        return (time.perf_counter() - started) * 1000

    copy = ms(lambda: logits.clone())
    eager = ms(lambda: postprocess(logits.clone(), targets, k)) - copy  # it clobbers its input
    lines = [
        f"{torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}: {rows} x {vocab} float32 logits ({size / 1e9:.2f} GB), top-{k}",
        f"  copy (read + write)  {copy:7.3f} ms  {2 * size / copy / 1e6:6.0f} GB/s",
        f"  eager postprocess    {eager:7.3f} ms  {rows / eager / 1e3:8.2f} M rows/s",
    ]
    for block in (1024, 2048, 4096, 8192):
        for warps in (4, 8, 16):
            out = fused_postprocess(logits, targets, k, block=block, num_warps=warps)
            ok = bool(torch.equal(out["rank"].long(), ref["rank"].long())) and bool(
                torch.equal(out["top_ids"], ref["top_ids"])
            )
            err = float((out["nll"] - ref["nll"]).abs().max())
            t = ms(lambda b=block, w=warps: fused_postprocess(logits, targets, k, b, w))
            lines.append(
                f"  fused block {block:5d} warps {warps:2d}  {t:7.3f} ms  {size / t / 1e6:6.0f} GB/s read"
                f"  {rows / t / 1e3:8.2f} M rows/s  ranks+top ids {'equal' if ok else 'DIFFER'}, max |nll diff| {err:.1e}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    cli = argparse.ArgumentParser(prog="python -m inspector.bench.kernel")
    cli.add_argument("--sweep", action="store_true", help="time configurations on this GPU")
    cli.add_argument(
        "--capability", type=int, default=90, help="compile for this compute capability (90)"
    )
    args = cli.parse_args()
    print(sweep() if args.sweep else compile_report(args.capability))
