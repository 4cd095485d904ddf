"""Shared fixtures: a tiny random-weight model for speed, the real embedded model where it matters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# No GPU here: the CUDA post-processing kernel runs in Triton's interpreter, which must be on
# before anything imports triton (its own library functions are defined at import)
os.environ["TRITON_INTERPRET"] = "1"


def pytest_configure() -> None:
    """Library notices on stderr, as the CLI shows them (tests of library calls read them)."""
    from inspector.cli.stderr import show_library_messages

    show_library_messages()


TRAINING_TEXT = [
    "Biden married Neilia Hunter, a student.",
    "The capital of Azerbaijan is Baku.",
    "In my free time, I like to code.",
    "Café, naïve, 日本語, emoji 😀 and    spaces.\n\nA new paragraph.",
]


def build_tiny_model(
    folder: Path,
    *,
    context: int = 64,
    hidden: int = 32,
    layers: int = 2,
    seed: int = 0,
    vocab: int = 400,
    split_words: bool = True,
) -> Path:
    """Save a random-weight Llama with a small byte-level BPE tokenizer into `folder`; with
    `split_words=False` its pieces may cross word boundaries (`n't pay`, ` the cat`), as a
    tokenizer without a pre-tokenizing regex learns them."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from corpora import bundled_path

    texts = TRAINING_TEXT + [
        p.read_text() for p in sorted((bundled_path() / "prose").glob("*.txt"))
    ]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=split_words)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(texts, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>")
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from inspector.lm.loading import load_model

    return load_model(str(tiny_model_dir), tmp_path_factory.mktemp("tiny-cache"), device="cpu")


@pytest.fixture(scope="session")
def embedded_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder private to this test session (the GGUF is converted into it once)."""
    return tmp_path_factory.mktemp("embedded-cache")


@pytest.fixture(scope="session")
def embedded_lm(embedded_cache: Path):
    from inspector.lm.loading import load_model

    return load_model("", embedded_cache, device="cpu")


@pytest.fixture(scope="session")
def tiny_family(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three tiny random models of growing size, sharing one tokenizer (as a model family does)."""
    return [
        build_tiny_model(
            tmp_path_factory.mktemp(f"tiny-{hidden}"), hidden=hidden, layers=layers, seed=hidden
        )
        for hidden, layers in ((16, 1), (32, 2), (64, 3))
    ]


@pytest.fixture(scope="session")
def tiny_other_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with another tokenizer: a larger vocabulary whose pieces cross words."""
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny-other"), vocab=600, split_words=False, seed=7
    )


def plain_word(text: str) -> dict[str, object]:
    """The features a rule reads, for a word that is nothing in particular (tests of rules)."""
    return {
        "text": text, "lower": text.lower(), "lemma": text, "pos": "X", "tag": "", "dep": "",
        "ent_type": "", "morph": frozenset(), "is_punct": False, "is_alpha": text.isalpha(),
        "is_digit": text.isdigit(), "like_num": False, "is_lower": text.islower(),
        "is_upper": text.isupper(), "is_title": text.istitle(), "is_stop": False,
        "in_entity": False, "inflected": False, "prev_text": "", "next_text": "",
    }  # fmt: skip


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m inspector ARGS` in a fresh process, offline, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=cwd,
        timeout=600,
    )


def cli_here(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """`inspector ARGS` in this process (no interpreter and torch import per call: seconds
    saved where a test runs a command many times), as `run_cli` reports it."""
    from inspector import cli

    capsys.readouterr()  # what came before is not this command's
    code = cli.main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["inspector", *args], code, out.out, out.err)
