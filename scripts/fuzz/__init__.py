"""The bad-input sweep run by ``scripts/fuzz_inputs.py``, one module per surface.

Importing the package puts the checkout first on ``sys.path`` and keeps the hub offline, before
any module here imports genai.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
