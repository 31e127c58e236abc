"""Tiny random-weight music and sound models of the real architectures (MusicGen, AudioLDM,
PerformanceRNN), saved the way their real weights are stored, for tests and the web app's tests.
"""

from __future__ import annotations

from pathlib import Path

from .common import new_folder, save_to, tiny_hifigan
from .image import tiny_conditional_unet, tiny_vae

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _random_codebooks(codec) -> None:
    """EnCodec starts its codebooks at zero (they are learned); random ones make codes audible."""
    import torch

    with torch.no_grad():
        for layer in codec.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)


def _audible_without_offset(conv, gain: float = 4.0) -> None:
    """EnCodec's random output layer turns the mean of its (ELU) inputs into a constant offset
    (the tiny decoder's output was 99.9 % DC at -2.4 dBFS): kernels summing to zero and no bias
    pass only the changes, and ``gain`` lifts them to about -17 dBFS."""
    import torch

    with torch.no_grad():
        direction = conv.parametrizations.weight.original1  # weight norm: g * v / |v|
        direction.sub_(direction.mean(dim=2, keepdim=True))
        conv.parametrizations.weight.original0.mul_(gain)
        conv.bias.zero_()


def musicgen_model(
    text,
    audio,
    *,
    sizes: tuple[int, int, int, int, int],
    codebooks: int,
    channels: int = 1,
    max_positions: int = 512,
    top_k: int = 50,
):
    """A MusicgenForConditionalGeneration (seeded with 0) over these text and audio configs.

    ``sizes``: the decoder's vocabulary, hidden size, layers, heads and feed-forward size. Its
    pad, start and bos tokens are the id just past the vocabulary, as in the real checkpoints.
    """
    import torch
    from transformers import MusicgenConfig, MusicgenDecoderConfig, MusicgenForConditionalGeneration

    vocab, hidden, layers, heads, feed_forward = sizes
    decoder = MusicgenDecoderConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        ffn_dim=feed_forward,
        num_codebooks=codebooks,
        max_position_embeddings=max_positions,
        audio_channels=channels,
        pad_token_id=vocab,
        decoder_start_token_id=vocab,
        bos_token_id=vocab,
    )
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(
        MusicgenConfig(
            text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict()
        )
    ).eval()
    model.generation_config.update(do_sample=True, guidance_scale=3.0, top_k=top_k, max_length=1500)
    return model


def make_tiny_musicgen(
    folder: str | Path, *, sampling_rate: int = 32_000, stereo: bool = False
) -> Path:
    """MusicGen (T5 text encoder, EnCodec at 50 frames a second, 4-codebook decoder) with its processor."""
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenProcessor,
        T5Config,
        T5Tokenizer,
    )

    folder = new_folder(folder)
    channels = 2 if stereo else 1
    codebooks = 4 * channels
    text = T5Config(vocab_size=64, d_model=16, d_ff=16, num_layers=1, num_heads=2, d_kv=8)
    hop = sampling_rate // 50
    ratios = [8, 8, hop // 64] if hop % 64 == 0 else [hop]
    audio = EncodecConfig(
        hidden_size=8,
        num_filters=4,
        num_residual_layers=1,
        num_lstm_layers=1,
        upsampling_ratios=ratios,
        codebook_size=64,
        codebook_dim=8,
        sampling_rate=sampling_rate,
        target_bandwidths=[2.2],
        audio_channels=1,
    )
    model = musicgen_model(
        text, audio, sizes=(64, 16, 1, 2, 16), codebooks=codebooks, channels=channels
    )
    _random_codebooks(model.audio_encoder)
    _audible_without_offset(model.audio_encoder.decoder.layers[-1].conv)
    model.save_pretrained(folder)
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(f"▁{w}", -1.0) for w in "calm piano drum beat lo fi rock jazz".split()]
    pieces += [(c, -2.0) for c in LETTERS] + [("▁", -3.0)]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0)
    feature_extractor = EncodecFeatureExtractor(feature_size=1, sampling_rate=sampling_rate)
    processor = MusicgenProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)
    return save_to(processor, folder)


def audioldm_unet_extras(*, text_dim: int, heads: int) -> dict:
    """What AudioLDM's UNet adds to a plain conditional UNet: the CLAP embedding as a class
    embedding (projected, concatenated), and its attention head size."""
    return {
        "class_embed_type": "simple_projection",
        "projection_class_embeddings_input_dim": text_dim,
        "class_embeddings_concat": True,
        "attention_head_dim": heads,
    }


def make_tiny_audioldm(folder: str | Path, *, sampling_rate: int = 16_000) -> Path:
    """An AudioLDM pipeline (CLAP text encoder, UNet, VAE, HiFi-GAN vocoder at 16 samples a frame)."""
    import torch
    from diffusers import AudioLDMPipeline, DDIMScheduler
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import ClapTextConfig, ClapTextModelWithProjection, RobertaTokenizer

    torch.manual_seed(0)
    unet = tiny_conditional_unet(
        sample_size=16, cross_attention_dim=(8, 16), **audioldm_unet_extras(text_dim=8, heads=2)
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
    )
    vae = tiny_vae(channels=1, block_out_channels=(8, 16))
    text_encoder = ClapTextModelWithProjection(
        ClapTextConfig(
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            hidden_size=8,
            intermediate_size=8,
            num_attention_heads=2,
            num_hidden_layers=1,
            vocab_size=300,
            projection_dim=8,
            max_position_embeddings=80,
        )
    )
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for char in sorted(ByteLevel.alphabet()):
        vocab.setdefault(char, len(vocab))
    vocab["<mask>"] = len(vocab)
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[], model_max_length=77)
    vocoder = tiny_hifigan(sampling_rate, channels=8, normalize_before=False)
    with torch.no_grad():  # its random layers shrink the signal 10^5-fold (-130 dBFS): lifted
        vocoder.conv_post.weight.mul_(2.5e5)  # to about -20 dBFS, a silenced output shows
    pipe = AudioLDMPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        vocoder=vocoder,
    )
    return save_to(pipe, folder)


def make_tiny_performance_rnn(path: str | Path, *, hidden: int = 16, layers: int = 1) -> Path:
    """A PerformanceRNN checkpoint ({"model": state_dict}, as coopertunes saves it) with the real
    240-event vocabulary and 24-number control input, tiny GRU; biased towards time shifts and
    notes so that random weights still play notes and move time on."""
    import torch

    from ..backends import midi_render
    from ..backends.performance_rnn import PerformanceRNN

    path = Path(path)
    new_folder(path.parent)
    torch.manual_seed(0)
    network = PerformanceRNN(midi_render.EVENTS, 24, 32, hidden, layers)
    with torch.no_grad():
        network.output_fc.weight.normal_(0.0, 1.0)  # the hidden state (so the controls) matters
        network.concat_input_fc.weight[:, midi_render.EVENTS + 1 :].normal_(0.0, 3.0)
        bias = network.output_fc.bias
        bias.zero_()
        bias[midi_render.NOTE_ON + 39 : midi_render.NOTE_ON + 52] = 2.0  # around middle C
        bias[midi_render.NOTE_OFF + 39 : midi_render.NOTE_OFF + 52] = 2.0
        bias[midi_render.TIME_SHIFT + 10 : midi_render.TIME_SHIFT + 20] = 3.0
    torch.save({"step": 0, "model": network.state_dict()}, path)
    return path
