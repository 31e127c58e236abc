"""The image rows of the catalog: data only (see genai.catalog.ModelEntry)."""

from __future__ import annotations

from .entry import ModelEntry
from .tasks import TEXT_TO_IMAGE, UNCONDITIONAL_IMAGE

PROMPT_EXAMPLES = (
    "a lighthouse on a cliff at sunset, oil painting",
    "a red fox in the snow, watercolor",
    "a cozy cabin in a pine forest, digital art",
)

ENTRIES: tuple[ModelEntry, ...] = (
    ModelEntry(
        alias="sd-turbo",
        hub_id="stabilityai/sd-turbo",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="1.3B",
        license="stabilityai-ai-community",
        description="Distilled SD 2.1: a usable 512x512 picture in 1 step, so the best quality per second on CPU.",
        # With no diffusion model on disk and no hub, the face GAN stands in (with a warning;
        # it draws faces whatever the prompt, and says so in the result).
        offline_fallback="faces-64",
        # strength 0.5 with 2 steps is the model card's image-to-image setting (steps * strength >= 1).
        defaults={
            "num_inference_steps": 1,
            "guidance_scale": 0.0,
            "width": 512,
            "height": 512,
            "strength": 0.5,
        },
        examples=PROMPT_EXAMPLES,
    ),
    ModelEntry(
        alias="tiny-sd",
        hub_id="segmind/tiny-sd",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="0.5B",
        license="creativeml-openrail-m",
        description="Distilled SD 1.5 with a pruned UNet: fast, needs about 25 steps.",
        defaults={"num_inference_steps": 25, "guidance_scale": 7.5, "width": 512, "height": 512},
        examples=PROMPT_EXAMPLES,
    ),
    ModelEntry(
        alias="bk-sdm-tiny",
        hub_id="nota-ai/bk-sdm-tiny",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="0.5B",
        license="creativeml-openrail-m",
        description="Block-removed SD 1.4 (BK-SDM tiny): the smallest SD-style UNet here.",
        defaults={"num_inference_steps": 25, "guidance_scale": 7.5, "width": 512, "height": 512},
        examples=PROMPT_EXAMPLES,
    ),
    ModelEntry(
        alias="amused-256",
        hub_id="amused/amused-256",
        task=TEXT_TO_IMAGE,
        family="diffusion-image",
        params="0.6B",
        license="openrail++",
        description="aMUSEd: a masked-token (MUSE) model, 256x256 in 12 parallel decoding steps.",
        defaults={"num_inference_steps": 12, "guidance_scale": 10.0, "width": 256, "height": 256},
        examples=PROMPT_EXAMPLES,
    ),
    ModelEntry(
        alias="ddpm-cifar10",
        hub_id="google/ddpm-cifar10-32",
        task=UNCONDITIONAL_IMAGE,
        family="diffusion-unconditional",
        params="36M",
        license="apache-2.0",
        description="Unconditional DDPM trained on CIFAR-10: 32x32 pictures, no prompt.",
        defaults={"num_inference_steps": 50, "width": 32, "height": 32},
        display={"num_images": 4},
        examples=({"seed": 1}, {"seed": 100}),
    ),
    ModelEntry(
        alias="faces-64",
        hub_id="gan-face-generate",
        task=UNCONDITIONAL_IMAGE,
        family="gan",
        params="3.6M",
        license="mit; weights non-commercial (DigiFace-1M)",
        description="A DCGAN trained on Microsoft's synthetic DigiFace-1M faces: 64x64 faces in "
        "well under a second on a CPU, no download. Code MIT (gan-face-generate 1.1.1); the weights "
        "come from DigiFace-1M, whose terms we understand to allow non-commercial research only.",
        embedded="gan-face-generate:gan_face_generate/weights.tar",
        # A grid of faces at twice their size, crisp: one 64x64 face blown up to a page's
        # width is a blur.
        display={"num_images": 8, "width": 128, "height": 128, "resample": "nearest"},
        examples=({"seed": 7}, {"seed": 2024}, {"seed": 3, "interpolate_to": 11, "frames": 8}),
    ),
)
