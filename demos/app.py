"""genai studio: a Gradio web app for text, images, sound and illustrated, narrated stories.

    python demos/app.py            # http://127.0.0.1:7860 (or: genai demo)
    python demos/app.py --port 8000 --host 0.0.0.0 --share

Every tab loads its model on first use through ``genai.load`` and says where it runs.
Without the hub, the embedded defaults still work (each catalog model's offline
fallback stands in, with a notice); a model that cannot be had shows genai's own message.

Which models the tabs start with: ``build_demo(default_models={"text": ..., "image": ...,
"speech": ..., "audio": ...})`` or GENAI_APP_TEXT_MODEL, GENAI_APP_IMAGE_MODEL,
GENAI_APP_SPEECH_MODEL, GENAI_APP_AUDIO_MODEL (aliases, hub ids or local paths). Files go
to GENAI_APP_OUTPUT_DIR (default: a temporary folder, removed at exit).

The app itself lives in the genai package (``genai.app``: one module per tab), so an
installed wheel runs the same app with ``genai demo``.
"""

import sys

from genai.app import build_demo, main

# Gradio's convention: a module-level ``demo`` (``gradio demos/app.py`` reloads it on edits,
# tests import it).
demo = build_demo()

if __name__ == "__main__":
    sys.exit(main(demo=demo))
