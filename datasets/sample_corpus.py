"""Build the small demo corpus that the README Quickstart checks.

Usage::

    python -m datasets.sample_corpus OUTDIR [--seed N]

Writes into OUTDIR:

* ``ai_generated_signed.mp4``: synthetic clip with a C2PA manifest declaring
  ``trainedAlgorithmicMedia`` (softwareAgent "provenance-checker demo generator") and carrying
  a thumbnail picture, signed by the demo PKI.
* ``ai_generated_tampered.mp4``: the same signed clip with one byte of its media data flipped.
* ``ai_edited_with_history.mp4``: a clip whose manifest says it was edited with AI
  (``c2pa.edited``, ``compositeWithTrainedAlgorithmicMedia``) from a parent clip that carries
  its own capture-declared manifest (two manifests: shows the history walk).
* ``unsigned.mp4``: a clip with no credentials at all.
* ``camera_signed.jpg``: an image whose manifest declares ``digitalCapture`` (valid, no AI
  declared).
* ``unsupported_container.webm``: a WebM clip (C2PA cannot be embedded in WebM).
* ``sdxl_watermarked.png``: an image carrying the public SDXL/SVD invisible watermark, embedded
  the way those generators do (float32 domain), and no credentials.
* ``keyed_watermarked.mp4``: a clip marked with the keyed watermark under the key in
  ``demo-key.txt`` (check with ``--key-file demo-key.txt``).
* ``camera_signed_sdxl_watermarked.png``: credentials that declare a camera capture on an image
  that carries the SDXL watermark: the report shows the conflict.
* ``ai_generated_stripped.mp4``: a clip signed with durable credentials (marked with an
  identifier under the demo key, its manifest kept in ``manifests.sqlite``), then re-encoded at
  half size as a platform does, which strips the credentials: ``--key-file demo-key.txt
  --repository manifests.sqlite`` recovers them.
* ``manifests.sqlite``: the demo's manifest repository (see ``provenance repository``).
* ``demo-key.txt``: the demo's keyed-mark key (a demonstration secret, not a real one).
* ``pki/root.pem`` (+ ``pki/chain.pem``): the demo root certificate to pass as a user trust
  anchor, and the signer's chain for reference. The signing key is not kept.
* ``MANIFEST.json``: every file, what it is, its seed and what a checker should find.

Media are deterministic given ``--seed`` (byte for byte for ``unsigned.mp4``; the WebM
container header holds a random segment UID, its decoded frames are identical); signatures,
certificates and timestamps are not.
The demo PKI is for demonstrations only (see :mod:`provenance.testing.pki`).

From Python (from the repository root)::

    from datasets.sample_corpus import build_sample_corpus
    build_sample_corpus(outdir, seed=0)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from provenance.durable import sign_durable
from provenance.testing.pki import PKIFiles, generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import reencode, synthetic_frame, write_clip, write_image
from provenance.testing.tamper import flip_mdat_byte
from provenance.watermark import SDXL, dwtdct_embed
from provenance.watermark.keyed import mark_file

__all__ = ["CLIP_GEOMETRY", "DEMO_KEY", "KEY_FILE", "build_sample_corpus", "main"]

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
GENERATOR_AGENT = "provenance-checker demo generator"
#: Geometry of every clip: 2 s of 640x360 at 24 fps.
CLIP_GEOMETRY: dict[str, float] = {"seconds": 2.0, "fps": 24, "width": 640, "height": 360}
MANIFEST_NAME = "MANIFEST.json"
#: The keyed-mark key of the demo (written to demo-key.txt; a demonstration secret only).
DEMO_KEY = "provenance-checker demo key"
KEY_FILE = "demo-key.txt"
#: The demo's manifest repository (the durable clip's manifest is kept there).
REPOSITORY_FILE = "manifests.sqlite"


def build_sample_corpus(outdir: Path, *, seed: int = 0) -> list[Path]:
    """Write the demo corpus into ``outdir`` and return the paths written (MANIFEST.json last).

    Each media file gets its own seed (``seed`` + a fixed offset) recorded in MANIFEST.json.
    Existing files with the same names are overwritten.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    pki_dir = outdir / "pki"
    entries: list[dict[str, Any]] = []

    with tempfile.TemporaryDirectory(prefix="sample-corpus-") as scratch_name:
        scratch = Path(scratch_name)
        pki = generate_pki(scratch / "pki", name="provenance-checker demo")
        pki_dir.mkdir(exist_ok=True)
        root = Path(shutil.copyfile(pki.root_pem, pki_dir / "root.pem"))
        chain = Path(shutil.copyfile(pki.chain_pem, pki_dir / "chain.pem"))

        # 1. AI-declared clip, signed.
        ai_seed = seed
        raw_ai = _clip(scratch / "ai_raw.mp4", seed=ai_seed)
        # a generator stores a small picture of its output; C2PA makes none for video itself
        thumbnail = write_image(
            scratch / "ai_thumbnail.jpg", width=320, height=180, seed=ai_seed, quality=80
        )
        ai_signed = sign_file(
            raw_ai,
            outdir / "ai_generated_signed.mp4",
            pki=pki,
            digital_source_type=IPTC + "trainedAlgorithmicMedia",
            software_agent=GENERATOR_AGENT,
            title="ai_generated_signed.mp4",
            thumbnail=thumbnail,
        )
        entries.append(
            _entry(
                ai_signed,
                ai_seed,
                "Synthetic clip with a C2PA manifest declaring it AI-generated "
                "(c2pa.created, trainedAlgorithmicMedia), signed by the demo PKI.",
                kind="signed",
                c2pa_state="Trusted",
                ai_declared=True,
                digital_source_type=IPTC + "trainedAlgorithmicMedia",
                expected_verdict="ai_declared",
            )
        )

        # 2. The same clip, tampered after signing.
        tampered = flip_mdat_byte(ai_signed, outdir / "ai_generated_tampered.mp4")
        entries.append(
            _entry(
                tampered,
                ai_seed,
                "ai_generated_signed.mp4 with one byte of its mdat (media data) flipped "
                "after signing: the credentials no longer match the content.",
                kind="tampered",
                c2pa_state="Invalid",
                failure_codes=["assertion.bmffHash.mismatch"],
                ai_declared=True,
                digital_source_type=IPTC + "trainedAlgorithmicMedia",
                expected_verdict="credentials_tampered",
            )
        )

        # 3. AI edit of a capture-declared parent: two manifests.
        parent_seed, edited_seed = seed + 1, seed + 2
        # The parent only lives in the scratch folder (its manifest travels as an ingredient):
        # a small clip keeps the build fast.
        raw_parent = write_clip(scratch / "parent_raw.mp4", seconds=1.0, seed=parent_seed)
        parent = sign_file(
            raw_parent,
            scratch / "camera_original.mp4",
            pki=pki,
            digital_source_type=IPTC + "digitalCapture",
            title="camera_original.mp4",
        )
        raw_edited = _clip(scratch / "edited_raw.mp4", seed=edited_seed)
        edited = sign_file(
            raw_edited,
            outdir / "ai_edited_with_history.mp4",
            pki=pki,
            action="c2pa.edited",
            digital_source_type=IPTC + "compositeWithTrainedAlgorithmicMedia",
            software_agent=GENERATOR_AGENT,
            title="ai_edited_with_history.mp4",
            parent=parent,
        )
        entries.append(
            _entry(
                edited,
                edited_seed,
                "Clip whose manifest records an AI edit (c2pa.opened on a parent, then "
                "c2pa.edited with compositeWithTrainedAlgorithmicMedia); the parent (a 1 s "
                f"320x240 clip, seed {parent_seed}) carries its own digitalCapture manifest.",
                kind="signed",
                c2pa_state="Trusted",
                ai_declared=True,
                digital_source_type=IPTC + "compositeWithTrainedAlgorithmicMedia",
                manifest_count=2,
                expected_verdict="ai_edited",
            )
        )

        # 4. Capture-declared still image.
        image_seed = seed + 3
        raw_image = write_image(scratch / "camera_raw.jpg", width=640, height=360, seed=image_seed)
        image = sign_file(
            raw_image,
            outdir / "camera_signed.jpg",
            pki=pki,
            digital_source_type=IPTC + "digitalCapture",
            title="camera_signed.jpg",
        )
        entries.append(
            _entry(
                image,
                image_seed,
                "Synthetic image with a C2PA manifest declaring a camera capture "
                "(c2pa.created, digitalCapture): valid credentials, no AI declared.",
                kind="signed",
                c2pa_state="Trusted",
                ai_declared=False,
                digital_source_type=IPTC + "digitalCapture",
                expected_verdict="credentials_valid_no_ai",
            )
        )

        # 4b. Durable credentials: signed and marked, then stripped by a platform.
        entries.append(_durable(outdir, scratch, pki, seed=seed + 10))

    # 5. No credentials at all.
    unsigned_seed = seed + 4
    unsigned = _clip(outdir / "unsigned.mp4", seed=unsigned_seed)
    entries.append(
        _entry(
            unsigned,
            unsigned_seed,
            "Synthetic clip without any C2PA manifest or watermark: no provenance signal, "
            "which proves nothing either way.",
            kind="unsigned",
            c2pa_state=None,
            ai_declared=False,
            expected_verdict="no_signal",
        )
    )

    # 6. WebM: not a C2PA container.
    webm_seed = seed + 5
    # VP8: the default VP9 encoder takes ~9 s for this clip, VP8 ~1.4 s.
    webm = _clip(outdir / "unsupported_container.webm", seed=webm_seed, codec="libvpx")
    entries.append(
        _entry(
            webm,
            webm_seed,
            "WebM clip: C2PA credentials cannot be embedded in WebM, so a checker reports "
            "the container as unsupported for C2PA (not as an error).",
            kind="unsupported_container",
            c2pa_state="NotSupported",
            ai_declared=False,
            expected_verdict="no_signal",
        )
    )

    # 7-9. Watermarks.
    entries.extend(_watermarked(outdir, seed=seed + 6))

    written = [outdir / entry["path"] for entry in entries]
    manifest = {
        "generator": "python -m datasets.sample_corpus",
        "seed": seed,
        "clip_geometry": CLIP_GEOMETRY,
        "trust_anchor": "pki/root.pem",
        "signer_chain": "pki/chain.pem",
        "note": (
            "Demo corpus. Decoded media are deterministic given the seed; signatures, "
            "certificates and the WebM segment UID are not. c2pa_state is what c2pa-python "
            "reports with pki/root.pem as a user trust anchor (without it, signed files come "
            "out Valid with signingCredential.untrusted)."
        ),
        "files": entries,
    }
    manifest_path = outdir / MANIFEST_NAME
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return [*written, root, chain, outdir / KEY_FILE, outdir / REPOSITORY_FILE, manifest_path]


def _durable(outdir: Path, scratch: Path, pki: PKIFiles, *, seed: int) -> dict[str, Any]:
    """A generator's clip signed with durable credentials (marked with an identifier under the
    demo key, the identifier declared, the manifest kept in the repository), then re-encoded at
    half size by a platform, which strips the credentials: only the repository recovers them."""
    raw = write_clip(
        scratch / "durable_raw.mp4",
        seconds=2.0,
        width=1280,
        height=720,
        seed=seed,
        content="smooth",
    )
    (outdir / KEY_FILE).write_text(DEMO_KEY + "\n", encoding="utf-8")
    repository = outdir / REPOSITORY_FILE
    repository.unlink(missing_ok=True)
    durable = sign_durable(
        raw,
        scratch / "durable_signed.mp4",
        chain_pem=pki.chain_pem.read_bytes(),
        private_key_pem=pki.key_pem.read_bytes(),
        mark_key=DEMO_KEY,
        identifier=0x0DE0_0000_0000_0000 + seed,
        repository=repository,
        added_by="python -m datasets.sample_corpus",
        software_agent="provenance-checker demo generator",
        title="ai_generated_stripped.mp4",
    )
    stripped = reencode(durable.signed.path, outdir / "ai_generated_stripped.mp4")
    entry = _entry(
        stripped,
        seed,
        "A generator's clip signed with durable credentials (keyed mark with an identifier "
        f"under the key in {KEY_FILE}, manifest kept in {REPOSITORY_FILE}), then re-encoded "
        "at half size by a platform, which stripped its credentials: checked with "
        f"--key-file {KEY_FILE} --repository {REPOSITORY_FILE}, they are recovered.",
        kind="durable",
        c2pa_state=None,
        ai_declared=True,
        digital_source_type=IPTC + "trainedAlgorithmicMedia",
        expected_verdict="ai_declared",
    )
    entry["key_file"] = KEY_FILE
    entry["repository"] = REPOSITORY_FILE
    entry["identifier"] = durable.binding_value
    return entry


def _sdxl_image(path: Path, *, seed: int) -> Path:
    """A 768x512 synthetic picture marked as SDXL / SVD do it (float32 embed, then rounded)."""
    import cv2
    import numpy as np

    picture = np.ascontiguousarray(synthetic_frame(0, width=768, height=512, seed=seed)[:, :, ::-1])
    marked = dwtdct_embed.embed(picture, SDXL, domain="float32")
    cv2.imwrite(str(path), np.clip(np.rint(marked), 0, 255).astype(np.uint8))
    return path


def _watermarked(outdir: Path, *, seed: int) -> list[dict[str, Any]]:
    entries = []
    image = _sdxl_image(outdir / "sdxl_watermarked.png", seed=seed)
    entries.append(
        _entry(
            image,
            seed,
            "Synthetic 768x512 image carrying the public SDXL/SVD invisible watermark "
            "(invisible-watermark dwtDct, 48-bit message, float32 embedding), no credentials.",
            kind="watermarked",
            c2pa_state=None,
            ai_declared=False,
            expected_verdict="ai_watermark",
        )
    )
    (outdir / KEY_FILE).write_text(DEMO_KEY + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="sample-corpus-") as scratch_name:
        scratch = Path(scratch_name)
        raw = _clip(scratch / "keyed_raw.mp4", seed=seed + 1)
        keyed_clip = outdir / "keyed_watermarked.mp4"
        mark_file(raw, keyed_clip, DEMO_KEY, crf=20)
        entry = _entry(
            keyed_clip,
            seed + 1,
            f"Synthetic clip marked with the keyed watermark under the key in {KEY_FILE}: "
            f"detected with --key-file {KEY_FILE}, invisible without it.",
            kind="watermarked",
            c2pa_state=None,
            ai_declared=False,
            expected_verdict="ai_watermark",
        )
        entry["key_file"] = KEY_FILE
        entries.append(entry)

        pki = generate_pki(scratch / "pki", name="provenance-checker demo camera")
        marked = _sdxl_image(scratch / "camera_raw.png", seed=seed + 2)
        signed = sign_file(
            marked,
            outdir / "camera_signed_sdxl_watermarked.png",
            pki=pki,
            digital_source_type=IPTC + "digitalCapture",
            title="camera_signed_sdxl_watermarked.png",
        )
        entry = _entry(
            signed,
            seed + 2,
            "Image whose credentials declare a camera capture (signed by a second demo "
            "certificate that is not in pki/) but which carries the SDXL watermark: "
            "the report flags the conflict.",
            kind="conflict",
            c2pa_state="Valid",
            ai_declared=False,
            digital_source_type=IPTC + "digitalCapture",
            expected_verdict="ai_watermark",
        )
        entry["expected"]["conflict"] = True
        entries.append(entry)
    return entries


def _clip(path: Path, *, seed: int, codec: str | None = None) -> Path:
    return write_clip(
        path,
        seconds=CLIP_GEOMETRY["seconds"],
        fps=int(CLIP_GEOMETRY["fps"]),
        width=int(CLIP_GEOMETRY["width"]),
        height=int(CLIP_GEOMETRY["height"]),
        seed=seed,
        codec=codec,
    )


def _entry(
    path: Path,
    seed: int,
    description: str,
    *,
    kind: str,
    c2pa_state: str | None,
    ai_declared: bool,
    expected_verdict: str,
    digital_source_type: str | None = None,
    failure_codes: list[str] | None = None,
    manifest_count: int | None = None,
) -> dict[str, Any]:
    return {
        "path": path.name,
        "kind": kind,
        "description": description,
        "seed": seed,
        "bytes": path.stat().st_size,
        "expected": {
            "c2pa_state": c2pa_state,
            "failure_codes": failure_codes or [],
            "ai_declared": ai_declared,
            "digital_source_type": digital_source_type,
            "manifest_count": manifest_count
            if manifest_count is not None
            else (1 if c2pa_state not in (None, "NotSupported") else 0),
            "verdict": expected_verdict,
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: build the corpus and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path, help="folder to write the corpus into")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the media (default 0)")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    paths = build_sample_corpus(arguments.outdir, seed=arguments.seed)
    elapsed = time.perf_counter() - started
    manifest = json.loads((arguments.outdir / MANIFEST_NAME).read_text(encoding="utf-8"))
    print(
        f"Wrote {len(paths)} files to {arguments.outdir} in {elapsed:.1f} s (seed {arguments.seed})"
    )
    print(f"  {'file':<30} {'kind':<22} {'C2PA (root as anchor)':<22} expected verdict")
    for entry in manifest["files"]:
        expected = entry["expected"]
        state = expected["c2pa_state"] or "no credentials"
        print(f"  {entry['path']:<30} {entry['kind']:<22} {state:<22} {expected['verdict']}")
    print(f"  {'pki/root.pem':<30} demo trust anchor: pass it as a user anchor, never trust it")
    print(f"  {KEY_FILE:<30} demo keyed-watermark key: pass it with --key-file")
    print(f"  {REPOSITORY_FILE:<30} demo manifest repository: pass it with --repository")
    print(f"  {MANIFEST_NAME:<30} what each file is, its seed and the expected results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
