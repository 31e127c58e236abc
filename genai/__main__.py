"""`python -m genai` runs the `genai` command."""

import sys

from .cli import main

sys.exit(main())
