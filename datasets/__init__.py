"""The corpus builders and the evaluation harness of the watermark detectors.

``sample_corpus.py`` builds the small demo corpus of the README Quickstart, :mod:`datasets.corpus`
the seeded evaluation corpus, and ``evaluate.py`` measures the detectors on it. None of this is
part of the installed ``provenance`` library: run it from the repository root with the
project's virtualenv (``python -m datasets.corpus OUTDIR``; see ``datasets/README.md``).
"""
