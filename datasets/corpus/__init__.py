"""The seeded evaluation corpus for the watermark detectors (dwtDct and keyed), with attacks.

Usage::

    python -m datasets.corpus OUTDIR [--seed 20261124] [--size quick|full]
                                     [--shared DIR] [--jobs N] [--only PATTERN ...]

``--size full`` (the default) is the evaluation corpus (about 10,100 items, 2.4 GB, about
55 min with ``--jobs 2`` on 2 cores; see ``datasets/README.md``); ``--size quick`` is a tiny
smoke-test version (a few items per class, small frames) that builds in about a minute.
``--only`` restricts the build to the roots whose name matches one of the shell patterns (e.g.
``'synth_textured_*'``), with everything derived from them: handy for debugging and for
determinism checks.

Writes into OUTDIR:

* ``unmarked/<root>/none.<ext>``: the unmarked originals ("roots"): natural camera clips from
  ``shared/fixtures/natural`` (cut into segments; sub-480p ones also upscaled to 854x480),
  slow pans / zooms over scikit-image's bundled photos, seeded synthetic clips (textured,
  smooth, dark, cartoon), still images (photos, natural frames, synthetic stills) and strongly
  coloured images (saturated blocks / gradients, crops of coffee, chelsea, ...).
* ``unmarked/<root>/<attack>.<ext>``: every unmarked root under every attack of its kind (the
  false-positive material).
* ``keyed/<root>/none.mp4`` and ``keyed/<root>/<attack>.<ext>``: clips marked with
  :func:`provenance.watermark.keyed.embed_luma` under the corpus key ``corpus-key-<seed>`` on
  every frame (H.264 CRF 18), and every video attack of them.
* ``dwtdct/<payload>/<hypothesis>/<root>/none.<png|mkv>`` and attacked versions: the
  invisible-watermark ``dwtDct`` mark of :func:`provenance.watermark.dwtdct_embed.embed` for every
  payload x hypothesis (5 x 4), on still images (PNG) and on short clips (every frame marked,
  lossless FFV1 ``bgr0`` in Matroska, verified bit-exact after writing).
* ``unmarked/<root>/<writer>.<ext>`` and ``dwtdct/<payload>/float32-bgr/<root>/<writer>.<ext>``:
  pictures written exactly as real generators write them (:mod:`~datasets.corpus.generators`):
  SVD / SVD-XT clips (14 / 25 frames, 1024x576) through SVD's OpenCV MP4V writer and its later
  imageio (libx264 CRF 25) writer, SDXL stills as PNG, FLUX stills as JPEG q95 4:4:4, each
  unmarked and with the generator's own mark; the manifest's ``writer`` names the writer.
* ``corpus.jsonl``: one JSON object per item (see :data:`MANIFEST_FIELDS` and the README).
* ``CORPUS.json``: seed, size, versions, counts per class, sizes and build time.

The work runs on ``--jobs`` processes of the project's worker pool
(:mod:`provenance.batch.pool`: fresh interpreters, each running
:func:`datasets.corpus.workers.start`), never in the caller's process.

Determinism: decoded frames depend only on the seed and the library versions. Every encoder
runs single-threaded, frames reach the encoders with their row padding filled, every
container is muxed with ``fflags=+bitexact`` (no random Matroska / WebM UIDs, no creation
times) and the workers fill fresh heap memory with a fixed byte (libx264 reads bytes it never
wrote at widths that are not multiples of 16; see
:func:`datasets.corpus.workers.deterministic_heap`). With the same FFmpeg / x264 / x265 /
libvpx / OpenCV / numpy builds the files are therefore byte-identical, whatever ``--jobs`` or
``--only`` is. Only ``CORPUS.json`` (build time, date) differs.

The modules, in reading order:

* :mod:`~datasets.corpus.sizes`: the seed, the keyed key, the ``full`` and ``quick`` sizes;
* :mod:`~datasets.corpus.manifest`: :class:`~datasets.corpus.manifest.Item`, one manifest line
  per written file, and :data:`MANIFEST_FIELDS`;
* :mod:`~datasets.corpus.plan`: the unmarked originals (roots) of a size, and which get marked;
* :mod:`~datasets.corpus.media_io`: encoder settings, decoding, the bit-exact video writer,
  image files, crop / scale geometry;
* :mod:`~datasets.corpus.sources`: the content of the roots (synthetic, photo, natural, colour)
  and writing them;
* :mod:`~datasets.corpus.attacks`: the attacks and applying them to clips and images;
* :mod:`~datasets.corpus.marking`: keyed and dwtDct marked items, the lossless check;
* :mod:`~datasets.corpus.writers`: the generators' own file writers, reproduced;
* :mod:`~datasets.corpus.generators`: the items written as the generators write them;
* :mod:`~datasets.corpus.workers`: tasks, the deterministic heap, the worker processes;
* :mod:`~datasets.corpus.summary`: ``CORPUS.json``;
* :mod:`~datasets.corpus.build`: :func:`build_corpus`, which plans the tasks and runs them;
* :mod:`~datasets.corpus.cli` and ``__main__``: the command line.

From Python (run from the repository root, or with it on ``sys.path``)::

    from datasets.corpus import build_corpus

    manifest_path = build_corpus(outdir, seed=20261124, size="quick", jobs=2)
"""

from __future__ import annotations

from .attacks import IMAGE_ATTACKS, VIDEO_ATTACKS
from .build import build_corpus
from .cli import main
from .manifest import MANIFEST_FIELDS
from .media_io import crop_box
from .sizes import DEFAULT_SEED, SIZES, corpus_key

__all__ = [
    "DEFAULT_SEED",
    "IMAGE_ATTACKS",
    "MANIFEST_FIELDS",
    "SIZES",
    "VIDEO_ATTACKS",
    "build_corpus",
    "corpus_key",
    "crop_box",
    "main",
]
