"""genai studio: the Gradio web app for text, images, sound and illustrated, narrated stories.

    genai demo                        # http://127.0.0.1:7860
    python -m genai.app --port 8000   # the same; --host 0.0.0.0 --share to open it up

    from genai.app import build_demo
    demo = build_demo({"image": "faces-64"})   # a gr.Blocks: demo.launch(), or mount it

One module per tab (text, image, speech, music, story), the callbacks they share
(callbacks), controls built from the parameter specs (widgets), what each model slot
holds and where it stands (models), the page and launch (page), and the command-line
options (options, which does not import gradio). Every action is a named API endpoint
(chat, image, speech, audio, story, load_<slot>) that ``gradio_client`` can call.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_demo", "launch", "main", "serve"]


def __getattr__(name: str) -> Any:  # gradio is imported when the app is, not for `genai --help`
    if name in __all__:
        from . import page

        return getattr(page, name)
    raise AttributeError(f"module 'genai.app' has no attribute {name!r}")
