"""The family rows of scripts/gpu_smoke.py: each family's tiny model (genai.testing's
factories, random weights, real architectures) loaded and run on the device, twice with one
seed: ok when both outputs are identical."""

from __future__ import annotations

import os
from pathlib import Path

PROMPT = "a red fox in snow"
# name: (build(folder) -> location, how it loads, call(gen, seed))
FAMILIES: dict = {}


def families(table, device: str, root: Path) -> None:
    """Each family's tiny model loaded and called twice with one seed: the same output?"""
    import numpy as np

    import genai
    from genai.backends.gan import GanGenerator
    from genai.backends.performance_rnn import PerformanceRNNGenerator
    from genai.catalog import TEXT_TO_AUDIO
    from genai.device import resolve_placement
    from genai.hub import Source
    from genai.testing import audio, image, music, text

    def load(location):
        return genai.load(str(location), device=device)

    def direct(kind, family, task):
        def open_(path):
            return kind(
                Source("file", str(path), path.stem), family, task, resolve_placement(device)
            )

        return open_

    def tacotron(folder):
        os.environ["TORCH_HOME"] = str(folder)  # where torchaudio looks for the bundle's weights
        audio.plant_tacotron2_bundle(folder)
        return "tacotron2-griffinlim"

    FAMILIES.update(
        {
            "causal-lm": (
                lambda f: text.tiny_llama(f),
                load,
                lambda g, s: g("the fox", max_new_tokens=8, temperature=0.9, seed=s),
            ),
            "seq2seq-lm": (
                lambda f: text.tiny_t5(f),
                load,
                lambda g, s: g("the fox", max_new_tokens=8, temperature=0.9, seed=s),
            ),
            "diffusion-image": (
                lambda f: image.make_tiny_sd(f),
                load,
                lambda g, s: g(PROMPT, seed=s, num_images=2, num_inference_steps=2),
            ),
            "amused": (
                lambda f: image.make_tiny_amused(f),
                load,
                lambda g, s: g(PROMPT, seed=s, num_images=2, num_inference_steps=2),
            ),
            "diffusion-unconditional": (
                lambda f: image.make_tiny_ddpm(f),
                load,
                lambda g, s: g(seed=s, num_images=2, num_inference_steps=2),
            ),
            "gan": (
                lambda f: image.make_tiny_gan(f / "w.tar"),
                direct(GanGenerator, "gan", "image"),
                lambda g, s: g(seed=s, num_images=8),
            ),
            "vits": (
                lambda f: audio.make_tiny_vits(f),
                load,
                lambda g, s: g("hello there.", seed=s),
            ),
            "speecht5": (
                lambda f: audio.make_tiny_speecht5(f),
                load,
                lambda g, s: g("hello there.", seed=s),
            ),
            "bark": (
                lambda f: audio.make_tiny_bark(f),
                load,
                lambda g, s: g("Hello there.", seed=s, voice="v2/en_speaker_1"),
            ),
            "tacotron2": (
                tacotron,
                lambda n: genai.load(n, device=device, max_decoder_steps=20),
                lambda g, s: g("hello there.", seed=s),
            ),
            "musicgen": (
                lambda f: music.make_tiny_musicgen(f),
                load,
                lambda g, s: g("jazz", seed=s, duration=0.2),
            ),
            "audioldm": (
                lambda f: music.make_tiny_audioldm(f),
                load,
                lambda g, s: g("rain", seed=s, duration=0.1, num_inference_steps=2),
            ),
            "performance-rnn": (
                lambda f: music.make_tiny_performance_rnn(f / "p.pt"),
                direct(PerformanceRNNGenerator, "performance-rnn", TEXT_TO_AUDIO),
                lambda g, s: g("", seed=s, duration=0.5, renderer="synth"),
            ),
        }
    )

    def output(result):
        if hasattr(result, "images"):
            return np.stack([np.asarray(i.convert("RGB")) for i in result.images])
        return result.waveform if hasattr(result, "waveform") else np.array([result.text])

    for name, (build, open_, call) in FAMILIES.items():
        with table.row("family", name) as row:
            generator = open_(build(root / name))
            first, again = output(call(generator, 7)), output(call(generator, 7))
            same = first.shape == again.shape and np.array_equal(first, again)
            placement = generator.placement.describe()
            if not same:
                raise AssertionError(f"same seed twice gave different outputs on {placement}")
            row["result"] = f"{placement}; same seed twice: identical"
            generator.unload()
