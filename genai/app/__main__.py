"""``python -m genai.app``: serve the web app (--host, --port, --share)."""

import sys

from .page import main

sys.exit(main())
