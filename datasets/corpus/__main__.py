"""``python -m datasets.corpus OUTDIR [--seed] [--size] [--shared] [--jobs] [--only ...]``.

Builds the corpus (:func:`datasets.corpus.cli.main`; ``--help`` lists the options).
"""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
