"""Loading diffusers image pipelines: a hub id, a folder or one checkpoint file, a tiny
autoencoder, and typed errors for files that are missing, damaged or of another kind.

Also what can be known before the weights load (the pipeline class a model declares), and
reading an input picture for image-to-image.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import (
    InvalidParameterError,
    ModelNotAvailableError,
    UnsupportedModelError,
    unreadable_files,
)
from ..hub import Source, hub_errors, local_files_only, not_downloadable, read_configs

DEFAULT_TINY_VAE = "madebyollin/taesd"
DEFAULT_TINY_VAE_XL = "madebyollin/taesdxl"

# Where from_single_file finds the layout of a checkpoint of each kind (its default, said in errors).
_SINGLE_FILE_BASES = {
    "StableDiffusionPipeline": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "StableDiffusionXLPipeline": "stabilityai/stable-diffusion-xl-base-1.0",
}


def declared_pipeline(source: Source) -> str | None:
    """The pipeline class a model's ``model_index.json`` names, read without loading weights."""
    if source.kind == "file":
        return None
    try:
        configs = read_configs(source)
    except (OSError, ValueError):  # a damaged index: the load says so, with the file named
        return None
    return configs.get("model_index.json", {}).get("_class_name")


@contextlib.contextmanager
def quiet_dtype_rename() -> Iterator[None]:
    """diffusers 0.42 renamed torch_dtype to dtype, which older versions ignore: keep the old name, mute the notice."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*torch_dtype.*deprecated", category=FutureWarning
        )
        yield


PIPELINE = "a diffusers image pipeline"


def load_pipeline(source: Source, placement, config: str | None):
    """The pipeline of a hub id or folder (its class from model_index.json) or of one file."""
    import diffusers

    kwargs: dict[str, Any] = {"torch_dtype": placement.dtype}  # see quiet_dtype_rename
    if source.kind == "hub":
        kwargs["local_files_only"] = local_files_only()
    if placement.device_map is not None:
        device_map = placement.device_map
        kwargs["device_map"] = "balanced" if device_map == "auto" else device_map
    with (
        unreadable_files(source.name, source.location, as_what=PIPELINE),
        hub_errors(source.name),
        quiet_dtype_rename(),
    ):
        if source.kind == "file":
            return _load_single_file(source, kwargs, config)
        # DiffusionPipeline reads the class from model_index.json and prefers safetensors.
        return diffusers.DiffusionPipeline.from_pretrained(source.location, **kwargs)


def _load_single_file(source: Source, kwargs: dict[str, Any], config: str | None):
    """One original-format .safetensors/.ckpt checkpoint (SD 1.x/2.x or SDXL)."""
    import diffusers

    path = Path(source.location)
    if path.suffix not in (".safetensors", ".ckpt"):
        raise UnsupportedModelError(
            f"{path.name}: image checkpoints load from .safetensors or .ckpt files"
        )
    pipeline_class = diffusers.StableDiffusionPipeline
    if path.suffix == ".safetensors" and _is_sdxl_checkpoint(path):
        pipeline_class = diffusers.StableDiffusionXLPipeline
    kwargs.setdefault("local_files_only", local_files_only())
    if config is not None:
        kwargs["config"] = config  # a diffusers folder or hub id with the matching configs
    base = _SINGLE_FILE_BASES[pipeline_class.__name__]
    try:
        return pipeline_class.from_single_file(str(path), **kwargs)
    except OSError as error:  # diffusers reads the layout from the base model's configs
        raise ModelNotAvailableError(
            f"{path.name}: a single checkpoint file needs the configs of its base model ({base} for "
            f"this kind), which are not on disk ({error}); pass config=<a diffusers folder or hub id "
            "of the same kind> or convert the file to a diffusers folder"
        ) from error
    except (ValueError, KeyError, RuntimeError) as error:
        raise UnsupportedModelError(
            f"{path.name} could not be read as a Stable Diffusion or SDXL checkpoint ({error}); "
            "convert it to a diffusers folder, or pass config=<diffusers folder> with its configs"
        ) from error


def _is_sdxl_checkpoint(path: Path) -> bool:
    """SDXL checkpoints carry a second (OpenCLIP) text encoder under conditioner.embedders.1."""
    from ..detect import safetensors_header

    return any(key.startswith("conditioner.embedders.1.") for key in safetensors_header(path))


def load_tiny_vae(pipe, tiny_vae: bool | str | os.PathLike, placement):
    """AutoencoderTiny (TAESD) for a Stable Diffusion-style pipeline: much faster decoding, slightly softer."""
    from diffusers import AutoencoderTiny
    from huggingface_hub import try_to_load_from_cache

    if tiny_vae is True:
        xl = "XL" in type(pipe).__name__
        tiny_vae = DEFAULT_TINY_VAE_XL if xl else DEFAULT_TINY_VAE
    location = str(tiny_vae)
    kwargs: dict[str, Any] = {"torch_dtype": placement.dtype}
    if Path(location).expanduser().exists():
        location = str(Path(location).expanduser())
    else:
        kwargs["local_files_only"] = local_files_only()
        if kwargs["local_files_only"] and not isinstance(
            try_to_load_from_cache(location, "config.json"), str
        ):
            raise not_downloadable(location)
    with (
        unreadable_files(location, location, as_what="a tiny autoencoder"),
        hub_errors(location),
        quiet_dtype_rename(),
    ):
        vae = AutoencoderTiny.from_pretrained(location, **kwargs)
    wanted = pipe.vae.config.latent_channels
    if vae.config.latent_channels != wanted:
        raise InvalidParameterError(
            f"tiny_vae={str(tiny_vae)!r} has {vae.config.latent_channels} latent channels, the model "
            f"{wanted}; use the tiny autoencoder made for this model family"
        )
    return vae


def open_image(value: Any):
    """(RGB PIL image, path or None) from a PIL image, a numpy array or an image file path."""
    from PIL import Image

    from ..results.image import open_image_file

    if isinstance(value, Image.Image):
        return value.convert("RGB"), None
    if isinstance(value, (str, os.PathLike)):
        with open_image_file(
            value,
            argument="init_image",
            give="an image file or a PIL image",
            unreadable="is not an image file PIL can read",
        ) as opened:
            return opened.convert("RGB"), str(Path(value).expanduser().resolve())
    if type(value).__module__ == "numpy" and getattr(value, "ndim", 0) in (2, 3):
        try:
            return Image.fromarray(value).convert("RGB"), None
        except (TypeError, ValueError) as error:
            raise InvalidParameterError(
                f"init_image: this array is not an image ({error})"
            ) from error
    raise InvalidParameterError(
        f"init_image must be a PIL image, an image file path or a numpy array, got {type(value).__name__}"
    )
