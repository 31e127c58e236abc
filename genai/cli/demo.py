"""`genai demo`: start the web app (demos/app.py), on this machine only unless told otherwise."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

APP_ENV = "GENAI_DEMO_APP"  # another app file to start instead of the repository's demos/app.py
DEFAULT_HOST = "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="start the web app (text, image, audio and story tabs) in the browser"
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0: the network)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default 7860, or the next free one)"
    )
    parser.add_argument(
        "--share",
        action="store_true",
        help="also open a public gradio.live link: anyone with it can use this machine",
    )
    parser.set_defaults(run=run)


def app_path() -> Path:
    """The app file: $GENAI_DEMO_APP, else demos/app.py beside the genai package (a repository checkout)."""
    from ..errors import GenaiError

    if os.environ.get(APP_ENV):
        path = Path(os.environ[APP_ENV]).expanduser()
    else:
        path = Path(__file__).resolve().parents[2] / "demos" / "app.py"
    if not path.is_file():
        raise GenaiError(
            f"the web app is not at {path}; run `genai demo` from an install of the repository "
            f"(pip install -e '.[app]'), or point {APP_ENV} at demos/app.py"
        )
    return path


def load_app(path: Path) -> ModuleType:
    """Import the app file as a module (building its module-level ``demo``)."""
    spec = importlib.util.spec_from_file_location("genai_demo_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look their module up here
    spec.loader.exec_module(module)
    return module


def run(args: argparse.Namespace) -> int:
    from ..errors import require

    require("gradio", "app")
    app = load_app(app_path())
    app.launch(app.demo, host=args.host, port=args.port, share=args.share)
    return 0
