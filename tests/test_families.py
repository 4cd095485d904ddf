"""Model families scored right (issue 44, first step): tiny random models of families whose
head does more than a plain product, each built from its transformers config with the tiny
test tokenizer. For each: `inspector`'s scores equal a plain transformers forward pass, the
logit lens's last layer is the model's own prediction, and an earlier layer is the model's
final norm (and projection) and head on that layer's stream.

- Granite divides its logits by `logits_scaling`;
- Cohere multiplies them by `logit_scale`; Gemma 2 softcaps them;
- Phi's final norm is `model.final_layernorm`;
- OPT projects its normed stream (`project_out`) to a narrower width before the head.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corpora import Document
from inspector.lm.lens import final_norm, logit_lens, target_context
from inspector.lm.loading import load_model
from inspector.run.tokens import TableScorer
from reference import reference_scores

TEXT = "Biden married Neilia Hunter, a student. The Danube flows into the Black Sea."
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "max_position_embeddings": 64}  # fmt: skip
FAMILIES = {
    "llama": {"intermediate_size": 64, "num_key_value_heads": 2},
    "granite": {"intermediate_size": 64, "num_key_value_heads": 2, "logits_scaling": 4.0},
    "cohere": {"intermediate_size": 64, "num_key_value_heads": 2, "logit_scale": 0.5},
    "gemma2": {"intermediate_size": 64, "num_key_value_heads": 2, "head_dim": 8,
               "final_logit_softcapping": 5.0},
    "phi": {"intermediate_size": 64},
    "opt": {"ffn_dim": 64, "word_embed_proj_dim": 16},
    "gpt2": {"n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64},
}  # fmt: skip


def build_family(family: str, tokenizer_from: Path, folder: Path) -> Path:
    """A random `family` model of a few thousand parameters with the tiny test tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_from)
    sizes = {} if family == "gpt2" else SMALL
    config = AutoConfig.for_model(
        family, vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.eos_token_id, **sizes, **FAMILIES[family],
    )  # fmt: skip
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", params=list(FAMILIES))
def family_lm(request, tiny_model_dir: Path, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = build_family(request.param, tiny_model_dir, tmp_path_factory.mktemp(request.param))
    return load_model(str(folder), tmp_path_factory.mktemp("cache"), device="cpu")


def test_scores_equal_a_plain_forward_pass(family_lm) -> None:  # type: ignore[no-untyped-def]
    table = TableScorer(family_lm).score([Document("d", TEXT)])
    tokens = table["token_id"].to_list()
    want = reference_scores(family_lm.model, [family_lm.prefix_id, *tokens])
    assert np.allclose(table["nll"].to_numpy(), want["nll"].double().numpy(), atol=1e-5)
    assert (table["rank"].to_numpy() == want["rank"].numpy()).all()
    assert np.allclose(table["entropy"].to_numpy(), want["entropy"].double().numpy(), atol=1e-4)


def test_the_lens_reads_every_layer_as_the_model_does(family_lm) -> None:  # type: ignore[no-untyped-def]
    import torch

    from inspector.lm.head import Head

    table = TableScorer(family_lm).score([Document("d", TEXT)])
    tokens = table["token_id"].to_list()
    ids = target_context(family_lm.prefix_id, tokens, len(tokens) - 1, len(tokens))
    depth = logit_lens(family_lm, ids, list(range(len(ids))), tokens)
    # the last layer: the scored nll and rank at every target
    assert np.allclose(depth.nll[:, -1], table["nll"].to_numpy(), atol=1e-5)
    assert (depth.rank[:, -1] == table["rank"].to_numpy()).all()
    model = family_lm.model
    with torch.inference_mode():
        out = model(torch.tensor([ids]), output_hidden_states=True)
        # the head applies the family's transforms: from the stream after the last layer
        # (normed, and projected, as transformers returns it) it gives the model's logits
        assert torch.allclose(
            Head(model)(out.hidden_states[-1][0]), out.logits[0].float(), atol=1e-4
        )
        # an earlier layer goes through the final norm (and projection) before the head
        first = torch.log_softmax(Head(model)(final_norm(model)(out.hidden_states[1][0])), -1)
    want = -first[torch.arange(len(tokens)), torch.tensor(tokens)].double().numpy()
    assert depth.layers == len(out.hidden_states) - 1
    assert np.allclose(depth.nll[:, 0], want, atol=1e-5)


# Every family of the installed transformers with a causal-LM class that builds from a
# shrunk config and scores right through inspector (96 of the 117 that build here; the rest,
# and why, are the next step of issue 44): dense, MoE (mixtral, olmoe, qwen3_moe, gpt_oss,
# deepseek_v2...) and state-space (mamba, falcon_mamba, falcon_h1, rwkv) alike
SWEEP = [
    "biogpt",
    "ctrl",
    "gpt_neox_japanese",
    "lfm2",
    "nemotron_h",
    "openai-gpt",
    "rwkv",
    "trocr",
    "xglm",
    "afmoe",
    "apertus",
    "apertus1p5_text",
    "arcee",
    "aria_text",
    "beam",
    "bitnet",
    "bloom",
    "cohere",
    "cohere2",
    "cohere2_moe",
    "cwm",
    "deepseek_v2",
    "diffllama",
    "doge",
    "ergo",
    "ernie4_5",
    "ernie4_5_moe",
    "exaone",
    "exaone4",
    "exaone_moe",
    "falcon_h1",
    "falcon_mamba",
    "flint",
    "gemma",
    "gemma2",
    "gemma3_text",
    "glm4_moe",
    "gpt-sw3",
    "gpt2",
    "gpt_bigcode",
    "gpt_neox",
    "gpt_oss",
    "granite",
    "granite_swa",
    "granitemoe",
    "granitemoe_swa",
    "granitemoeshared",
    "helium",
    "hunyuan_v1_dense",
    "hunyuan_v1_moe",
    "hy_v3",
    "hyperclovax",
    "internlm3",
    "iquestcoder",
    "jais2",
    "jetmoe",
    "kolibri1",
    "laguna",
    "lara_mini",
    "llama",
    "mamba",
    "mellum",
    "mimo_v2_flash",
    "minicpm3",
    "minicpm5_moe",
    "minimax",
    "minimax_m2",
    "minimax_m3_vl_text",
    "ministral",
    "ministral3",
    "mistral",
    "mixtral",
    "moshi",
    "mpt",
    "nanochat",
    "nemotron",
    "olmo",
    "olmo2",
    "olmo3",
    "olmoe",
    "opt",
    "param2moe",
    "persimmon",
    "phi",
    "phimoe",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "sarvam_mla",
    "sarvam_moe",
    "seed_oss",
    "solar_open",
    "stablelm",
    "starcoder2",
    "vaultgemma",
]
SHRINK = {  # each config's own name for a size, set small where the config has it
    "hidden_size": 32, "n_embd": 32, "d_model": 32, "dim": 32, "n_embed": 32,
    "intermediate_size": 64, "ffn_dim": 64, "n_inner": 64, "d_ff": 64, "ffn_hidden_size": 64,
    "hidden_dim": 64, "num_hidden_layers": 2, "n_layer": 2, "num_layers": 2, "n_layers": 2,
    "num_attention_heads": 4, "n_head": 4, "n_heads": 4, "num_heads": 4,
    "num_key_value_heads": 2, "n_kv_heads": 2, "num_kv_heads": 2, "head_dim": 8,
    "max_position_embeddings": 64, "n_positions": 64, "n_ctx": 64, "num_experts": 4,
    "num_local_experts": 4, "n_routed_experts": 4, "moe_intermediate_size": 32,
    "num_experts_per_tok": 2, "state_size": 8, "expand": 2, "conv_kernel": 4,
    "time_step_rank": 4, "kv_lora_rank": 8, "q_lora_rank": 8, "qk_rope_head_dim": 4,
    "qk_nope_head_dim": 4, "v_head_dim": 8,
}  # fmt: skip


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("sweep")


@pytest.mark.parametrize("family", SWEEP)
def test_every_family_scores_and_reads_as_transformers_does(
    family: str, tiny_model_dir: Path, sweep_folder: Path
) -> None:
    """Scores equal a plain forward pass (nll to 1e-4, rank), and the lens's last layer is
    the model's own prediction, for a tiny random model of `family`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    base = AutoConfig.for_model(family)
    sizes = {k: v for k, v in SHRINK.items() if hasattr(base, k)}
    ids = {k: tok.bos_token_id if k == "bos_token_id" else tok.eos_token_id
           for k in ("bos_token_id", "eos_token_id", "pad_token_id") if hasattr(base, k)}  # fmt: skip
    config = AutoConfig.for_model(family, **sizes, **ids, vocab_size=len(tok))
    torch.manual_seed(0)
    folder = sweep_folder / family
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    lm = load_model(str(folder), sweep_folder / "cache", device="cpu")
    table = TableScorer(lm).score([Document("d", TEXT)])
    tokens = table["token_id"].to_list()
    want = reference_scores(lm.model, [lm.prefix_id, *tokens])
    assert np.allclose(table["nll"].to_numpy(), want["nll"].double().numpy(), atol=1e-4), family
    assert (table["rank"].to_numpy() == want["rank"].numpy()).all(), family
    context = target_context(lm.prefix_id, tokens, len(tokens) - 1, len(tokens))
    depth = logit_lens(lm, context, list(range(len(context))), tokens)
    assert np.allclose(depth.nll[:, -1], table["nll"].to_numpy(), atol=1e-4), family
    # the norm the lens puts earlier layers through is the one the model itself applies last
    norm = final_norm(lm.model)
    if isinstance(norm, torch.nn.Module):
        seen: list[torch.Tensor] = []
        hook = norm.register_forward_hook(lambda _m, _i, out: seen.append(out))
        with torch.inference_mode():
            states = lm.model(torch.tensor([context]), output_hidden_states=True).hidden_states
        hook.remove()
        assert seen and torch.allclose(seen[-1][0].float(), states[-1][0].float(), atol=1e-5), (
            family
        )
