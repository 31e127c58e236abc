#!/usr/bin/env python
"""Batch generation from a JSONL/CSV/text file of jobs: the script to start on many processes.

    python scripts/batch_generate.py jobs.jsonl -o out                       # one process
    accelerate launch --num_processes 4 scripts/batch_generate.py jobs.jsonl -o out
    torchrun --nproc_per_node 2 scripts/batch_generate.py jobs.jsonl -o out --cpu

Each process takes its share of the jobs (on its own GPU), writes manifest.part-<rank>.jsonl,
and the main process merges the parts into out/manifest.jsonl at the end. Run the same
command again to go on after a crash: jobs already done are skipped. The same options as
`genai batch` (see --help).
"""

import sys

from genai.cli.batch import main

if __name__ == "__main__":
    sys.exit(main())
