"""The peers of `inspector bench --peers`: what a CPU user would run instead to get the loss of
every token, each given the same documents and asked the same question.

Every function takes the documents (text and inspector's token ids) and returns each
document's per-token nll in nats, the first token predicted from the document-start token;
lm-eval gives only a document's sum, so its array holds one value per document. A peer that
is not installed raises `PeerMissing`, with what to install.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspector.lm.loading import LoadedModel

INSTALL = "pip install -e '.[peers]' (llama-cpp-python compiles llama.cpp: minutes)"


class PeerMissing(Exception):
    """A peer's package is not installed: the row says so and the rest goes on."""


@dataclass(frozen=True)
class PeerDoc:
    """One document as every peer receives it."""

    text: str
    ids: np.ndarray  # (n,) int64, inspector's token ids (the same tokenizer as every peer's)


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise PeerMissing(f"{module} is not installed: {INSTALL}") from e


def _nll_from_logits(logits: Any, targets: np.ndarray) -> np.ndarray:
    """-log softmax(logits)[target] per row, in float64 on the host (logits: (n, vocab))."""
    x = np.asarray(logits, dtype=np.float64)
    top = x.max(axis=1, keepdims=True)
    lse = np.log(np.exp(x - top).sum(axis=1)) + top[:, 0]
    return lse - x[np.arange(len(targets)), targets]


Way = Callable[[Sequence[PeerDoc]], list[np.ndarray]]  # documents -> per-token nll of each


def transformers_forward(lm: LoadedModel) -> Way:
    """The plain forward pass a notebook writes: one document at a time, full logits,
    log-softmax, the target's entry; no rank, entropy or top-k."""
    import torch

    def run(docs: Sequence[PeerDoc]) -> list[np.ndarray]:
        out = []
        with torch.inference_mode():
            for d in docs:
                ids = torch.tensor([[lm.prefix_id, *d.ids[:-1].tolist()]])  # (1, time)
                logits = lm.model(input_ids=ids).logits[0].float()  # (time, vocab)
                logp = torch.log_softmax(logits, dim=-1)
                out.append(-logp[torch.arange(len(d.ids)), torch.from_numpy(d.ids)].numpy())
        return out

    return run


def lm_eval_rolling(lm: LoadedModel, window: int, batch_size: int = 8) -> Way:
    """lm-evaluation-harness's `loglikelihood_rolling` over the same loaded model (HFLM):
    one sum per document."""
    _require("lm_eval")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.ERROR)
    harness = HFLM(
        pretrained=lm.model,
        tokenizer=copy.deepcopy(lm.tokenizer),
        batch_size=batch_size,
        max_length=window,
        device="cpu",
    )

    def run(docs: Sequence[PeerDoc]) -> list[np.ndarray]:
        requests = [Instance("loglikelihood_rolling", {}, (d.text,), i) for i, d in enumerate(docs)]
        with contextlib.redirect_stderr(io.StringIO()):  # its inner bar ignores disable_tqdm
            sums = harness.loglikelihood_rolling(requests, disable_tqdm=True)
        return [np.array([-s]) for s in sums]

    return run


def minicons_scores(lm: LoadedModel, batch_size: int = 4) -> Way:
    """minicons' `IncrementalLMScorer`: per-token log-probabilities, the BOS token prepended."""
    _require("minicons")
    import warnings

    from minicons.scorer import IncrementalLMScorer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "tokenizer is changed by adding pad_token_id"
        scorer = IncrementalLMScorer(lm.model, "cpu", tokenizer=copy.deepcopy(lm.tokenizer))
    if scorer.tokenizer.bos_token_id != lm.prefix_id:
        raise PeerMissing("minicons prepends the BOS token, and this model's prefix is another")

    def run(docs: Sequence[PeerDoc]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for i in range(0, len(docs), batch_size):
            texts = [d.text for d in docs[i : i + batch_size]]
            logprobs = scorer.compute_stats(scorer.prepare_text(texts, bos_token=True))
            out.extend(-np.asarray(lp, dtype=np.float64) for lp in logprobs)
        return out

    return run


def gguf_file(lm: LoadedModel) -> Path:
    """The GGUF file the model came from, for the peers that read one."""
    if lm.source.kind not in ("embedded", "gguf"):
        raise PeerMissing("needs a GGUF model (the embedded one, or --model FILE.gguf)")
    return lm.source.path


def llama_cpp(lm: LoadedModel, window: int, threads: int) -> Way:
    """llama.cpp through llama-cpp-python on the original GGUF file (its own quantized
    kernels), every position's logits kept (`logits_all=True`), log-softmax on the host.

    Without "extra buffer types": on this project's machine (a Xeon with AMX) ggml's AMX
    matrix product crashed the process (SIGSEGV in `ggml_backend_amx_mul_mat`, llama-cpp-python
    0.3.36 built from source); Q4_1 has no other repacked layout, so this is its plain
    AVX-512 path."""
    module = _require("llama_cpp")
    from llama_cpp import llama as binding

    default_params = binding.llama_cpp.llama_model_default_params

    def params() -> Any:
        p = default_params()
        p.use_extra_bufts = False
        return p

    binding.llama_cpp.llama_model_default_params = params
    try:
        llm = module.Llama(
            model_path=str(gguf_file(lm)),
            n_ctx=window,
            n_batch=512,
            n_threads=threads,
            n_threads_batch=threads,
            logits_all=True,
            verbose=False,
        )
    finally:
        binding.llama_cpp.llama_model_default_params = default_params

    def run(docs: Sequence[PeerDoc]) -> list[np.ndarray]:
        out = []
        for d in docs:
            llm.reset()
            llm.eval([lm.prefix_id, *d.ids[:-1].tolist()])
            out.append(_nll_from_logits(llm.scores[: len(d.ids)], d.ids))
        return out

    return run


def ctranslate2_model(lm: LoadedModel, cache_dir: Path) -> Path:
    """The model converted once for CTranslate2 (float32; int8 is chosen when loading)."""
    ct2 = _require("ctranslate2")
    if lm.source.kind == "folder":
        folder = lm.source.path
    elif lm.source.kind in ("embedded", "gguf"):
        from inspector.lm.loading import converted_gguf

        folder = converted_gguf(lm.source, cache_dir)
    else:
        raise PeerMissing("CTranslate2 converts a local folder or a GGUF model")
    digest = lm.source.identity.split(":", 1)[-1][:16]
    out = cache_dir / "peers" / f"ctranslate2-{digest}"
    if not (out / "model.bin").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        ct2.converters.TransformersConverter(str(folder)).convert(str(tmp), force=True)
        tmp.rename(out)
    return out


def ctranslate2_scores(lm: LoadedModel, cache_dir: Path, compute_type: str, threads: int) -> Way:
    """CTranslate2's `Generator.score_batch`: the log-probability of each token after the first
    (here the document-start token), in its own kernels (`compute_type` int8 or float32)."""
    ct2 = _require("ctranslate2")
    gen = ct2.Generator(
        str(ctranslate2_model(lm, cache_dir)),
        device="cpu",
        compute_type=compute_type,
        intra_threads=threads,
    )
    tok = lm.tokenizer
    prefix = tok.convert_ids_to_tokens(lm.prefix_id)

    def run(docs: Sequence[PeerDoc]) -> list[np.ndarray]:
        batch = [[prefix, *tok.convert_ids_to_tokens(d.ids.tolist())] for d in docs]
        results = gen.score_batch(batch, max_batch_size=4096, batch_type="tokens")
        return [-np.asarray(r.log_probs, dtype=np.float64) for r in results]

    return run
