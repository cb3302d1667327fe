"""The identifier layer of the keyed mark: 64 bits a signer can resolve to a manifest.

The keyed mark's tile (:mod:`provenance.watermark.keyed`) is the *sync* layer: found by its
correlation peak, it tells the detector the mark's scale and shift. The identifier rides on the
same frequency coefficients in *quadrature*: in each in-band coefficient k of the key tile's
spectrum K, the data adds ``i * s_k * b_g(k) * K_k`` (s_k a key-derived sign, b the coded bit of
the coefficient's key-derived group). The sync correlation takes the real part of
``F conj(K)`` at the peak and never sees the data; the data is the imaginary part at the same
peak and never sees the sync. A clip's frames add up coefficient by coefficient.

The message is the identifier (64 bits) and a 40-bit keyed check (HMAC-SHA256 of the
identifier under the key), coded by the rate-1/3, constraint-length-7 convolutional code and
decoded by a soft-decision Viterbi decoder. An identifier is reported only when the keyed
mark's presence test passed and the check matches: a wrong identifier gets through one decode
with probability 2^-40 (9.1e-13), and a file is decoded at most :data:`MAX_DECODES` times per
key, so at most 4.4e-10 per file and key by construction. Without the key the coefficients,
signs and groups are unknown, so the identifier can be neither read nor written.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provenance.errors import ArgumentError
from provenance.watermark.policy import bonferroni_threshold

__all__ = [
    "ALGORITHM",
    "CHECK_BITS",
    "CODED_BITS",
    "IDENTIFIER_BITS",
    "MATCH_TARGET_FPR",
    "MAX_DECODES",
    "MAX_KNOWN",
    "MIN_PERIOD",
    "SYNC_SHARE",
    "IdentifierLayout",
    "binding_value",
    "codewords",
    "data_tile",
    "decode_products",
    "encode",
    "known_identifiers",
    "layout",
    "match_products",
    "match_threshold",
    "parse_binding_value",
    "viterbi",
]

#: The soft-binding algorithm name declared in ``c2pa.soft-binding`` assertions (not in the
#: C2PA algorithm list: a keyed, self-hosted mark has no central decoder to register).
ALGORITHM = "io.github.provenance-checker.keyed-id.1"
#: Length of the identifier, in bits.
IDENTIFIER_BITS = 64
#: Length of the keyed integrity check appended to it, in bits.
CHECK_BITS = 40
#: Most decodes attempted on one file for one key (the clip, and each of at most 240 marked
#: timeline segments, each two ways).
MAX_DECODES = 2 * (1 + 240)
#: Share of the mark's power given to the sync layer (the rest carries the identifier).
SYNC_SHARE = 0.2

_GENERATORS = (0o133, 0o171, 0o165)  # rate 1/3, constraint length 7 (as LTE's)
_MEMORY = 6
_MESSAGE_BITS = IDENTIFIER_BITS + CHECK_BITS
#: Coded bits carried (the message and the 6 tail bits, three coded bits each).
CODED_BITS = len(_GENERATORS) * (_MESSAGE_BITS + _MEMORY)
_TILE = 128
_BAND = (0.03, 0.18)  # the keyed tile's band, in cycles per pixel at the native period
_RINGS = 6  # frequency rings weighted apart when reading
#: Shortest tile period (pixels) whose spectrum still holds every coefficient of the band.
MIN_PERIOD = 2 * int(_BAND[1] * _TILE) + 2


def _seed(key: str | bytes, purpose: bytes) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise ArgumentError("key must not be empty")
    return hashlib.sha256(b"provenance-keyed-id-v1\x00" + purpose + b"\x00" + raw).digest()


def _check(key: str | bytes, identifier: int) -> int:
    mac = hmac.new(_seed(key, b"check"), identifier.to_bytes(8, "big"), hashlib.sha256)
    return int.from_bytes(mac.digest()[: CHECK_BITS // 8], "big")


def _bits(value: int, count: int) -> list[int]:
    return [(value >> (count - 1 - i)) & 1 for i in range(count)]


def _parity(value: int) -> int:
    return bin(value).count("1") & 1


@functools.lru_cache(maxsize=1)
def _trellis() -> tuple[np.ndarray, np.ndarray]:
    """For each state (the last 6 input bits) and input bit: next state and the coded bits."""
    states = 1 << _MEMORY
    following = np.zeros((states, 2), np.int64)
    outputs = np.zeros((states, 2, len(_GENERATORS)), np.float64)
    for state in range(states):
        for bit in (0, 1):
            register = (bit << _MEMORY) | state
            following[state, bit] = register >> 1
            outputs[state, bit] = [_parity(register & g) for g in _GENERATORS]
    return following, outputs


def _convolve(message: list[int]) -> np.ndarray:
    following, outputs = _trellis()
    state = 0
    coded = []
    for bit in [*message, *([0] * _MEMORY)]:
        coded.extend(outputs[state, bit])
        state = int(following[state, bit])
    return np.asarray(coded, np.float64)


def validate_identifier(identifier: int) -> int:
    """The identifier as an int, or :class:`ArgumentError` if it does not fit in 64 bits."""
    if not isinstance(identifier, int) or not 0 <= identifier < 1 << IDENTIFIER_BITS:
        raise ArgumentError(f"identifier must be an integer in [0, 2^64), got {identifier!r}")
    return identifier


def encode(identifier: int, key: str | bytes) -> np.ndarray:
    """The coded message as antipodal values (+1 for a 0 bit, -1 for a 1 bit)."""
    validate_identifier(identifier)
    message = _bits(identifier, IDENTIFIER_BITS) + _bits(_check(key, identifier), CHECK_BITS)
    result: np.ndarray = 1.0 - 2.0 * _convolve(message)
    return result


def viterbi(soft: np.ndarray) -> list[int]:
    """The most likely message bits for soft values (positive: a 0 bit), tail bits dropped."""
    following, outputs = _trellis()
    rate = len(_GENERATORS)
    steps = len(soft) // rate
    states = 1 << _MEMORY
    antipodal = 1.0 - 2.0 * outputs  # (state, bit, rate)
    # every state is reached from two (state, bit) pairs: the one whose oldest bit was 0 or 1
    flat = np.argsort(following.reshape(-1), kind="stable").reshape(states, 2)
    from_state, from_bit = np.divmod(flat, 2)
    metric = np.full(states, -np.inf)
    metric[0] = 0.0
    back = np.zeros((steps, states), np.int64)
    for step in range(steps):
        branch = antipodal @ soft[step * rate : (step + 1) * rate]  # (state, bit)
        candidates = metric[from_state] + branch[from_state, from_bit]  # (target, 2)
        pick = np.argmax(candidates, axis=1)
        metric = candidates[np.arange(states), pick]
        back[step] = flat[np.arange(states), pick]
    state = 0  # the tail returns the encoder to state 0
    bits = []
    for step in range(steps - 1, -1, -1):
        choice = int(back[step, state])
        bits.append(choice & 1)
        state = choice >> 1
    bits.reverse()
    return bits[: steps - _MEMORY]


@dataclass(frozen=True)
class IdentifierLayout:
    """Where one key's coded bits sit: coefficients (signed row, column), group and sign."""

    rows: np.ndarray
    columns: np.ndarray
    groups: np.ndarray
    signs: np.ndarray

    def indices(self, period: int) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of each coefficient in an ``rfft2`` spectrum of ``period`` x ``period``."""
        return self.rows % period, self.columns

    @functools.cached_property
    def rings(self) -> np.ndarray:
        """Each coefficient's frequency ring (0 lowest), for weighting by what survived."""
        radius = np.hypot(self.rows, self.columns) / _TILE
        edges = np.linspace(_BAND[0], _BAND[1], _RINGS + 1)[1:-1]
        result: np.ndarray = np.searchsorted(edges, radius)
        return result

    def soft_bits(self, products: np.ndarray) -> np.ndarray:
        """Each coded bit's soft value from the coefficients' products (see :func:`decode_products`).

        Compression and downscaling remove the high frequencies first, so each ring of
        coefficients is weighted by its signal-to-noise ratio (maximal-ratio combining): the
        signal measured by the sync (the real parts, the same amplitude as the data's), the
        noise by the spread of the imaginary parts.
        """
        real, imaginary = np.real(products), np.imag(products)
        weights = np.zeros(_RINGS)
        for ring in range(_RINGS):
            members = self.rings == ring
            if np.count_nonzero(members) > 1:
                noise = float(np.var(imaginary[members]))
                signal = float(np.mean(real[members]))
                weights[ring] = max(signal, 0.0) / noise if noise > 0 else 0.0
        if not np.any(weights):
            weights[:] = 1.0
        values = imaginary * self.signs * weights[self.rings]
        return np.bincount(self.groups, weights=values, minlength=CODED_BITS)


def _half_plane() -> tuple[np.ndarray, np.ndarray]:
    """Signed (row, column) of the in-band coefficients, one of each conjugate pair."""
    half = _TILE // 2
    rows, columns = np.meshgrid(np.arange(-half, half), np.arange(0, half + 1), indexing="ij")
    radius = np.hypot(rows, columns) / _TILE
    keep = (radius >= _BAND[0]) & (radius <= _BAND[1]) & ((columns > 0) | (rows > 0))
    return rows[keep], columns[keep]


@functools.lru_cache(maxsize=32)
def _layout_cached(seed: bytes) -> IdentifierLayout:
    rows, columns = _half_plane()
    rng = np.random.default_rng(int.from_bytes(seed[:16], "big"))
    order = rng.permutation(len(rows))
    groups = np.empty(len(rows), np.int64)
    groups[order] = np.arange(len(rows)) % CODED_BITS
    signs = rng.choice(np.array([-1.0, 1.0]), size=len(rows))
    for array in (rows, columns, groups, signs):
        array.setflags(write=False)
    return IdentifierLayout(rows, columns, groups, signs)


def layout(key: str | bytes) -> IdentifierLayout:
    """The key's coefficient layout (cached)."""
    return _layout_cached(_seed(key, b"layout"))


def data_tile(key: str | bytes, identifier: int, key_spectrum: np.ndarray) -> np.ndarray:
    """The identifier's 128 x 128 tile, unit variance, in quadrature with the key tile.

    ``key_spectrum`` is ``rfft2`` of the key tile at the native period.
    """
    coded = encode(identifier, key)
    place = layout(key)
    rows, columns = place.indices(_TILE)
    values = 1j * place.signs * coded[place.groups] * key_spectrum[rows, columns]
    spectrum = np.zeros_like(key_spectrum)
    spectrum[rows, columns] = values
    on_axis = columns == 0  # the column-0 coefficients are their own conjugate pairs' home
    spectrum[(-rows[on_axis]) % _TILE, 0] = np.conj(values[on_axis])
    tile: np.ndarray = np.fft.irfft2(spectrum, s=(_TILE, _TILE))
    result: np.ndarray = ((tile - tile.mean()) / tile.std()).astype(np.float32)
    return result


def decode_products(products: np.ndarray, key: str | bytes) -> int | None:
    """The identifier carried by the coefficients' products, or None when the check fails.

    ``products`` are ``F conj(K)`` at the layout's coefficients, phase-shifted to the sync
    peak (so the sync is real and the data imaginary), summed over any number of frames.
    """
    soft = layout(key).soft_bits(products)
    if not np.any(soft):
        return None
    bits = viterbi(soft)
    identifier = int("".join(map(str, bits[:IDENTIFIER_BITS])), 2)
    check = int("".join(map(str, bits[IDENTIFIER_BITS:])), 2)
    return identifier if check == _check(key, identifier) else None


def binding_value(identifier: int) -> str:
    """The identifier as a soft-binding value: its 8 bytes, big-endian, in base64."""
    return base64.b64encode(validate_identifier(identifier).to_bytes(8, "big")).decode("ascii")


def parse_binding_value(value: str) -> int:
    """The identifier of a soft-binding value (:class:`ArgumentError` if it is not one)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ArgumentError(f"not a base64 identifier: {value!r}") from exc
    if len(raw) != IDENTIFIER_BITS // 8:
        raise ArgumentError(f"an identifier has 8 bytes, {value!r} has {len(raw)}")
    return int.from_bytes(raw, "big")


#: Chance that a file with no mark of the key is matched to some known identifier: the
#: threshold of :func:`match_threshold` holds it, Bonferroni over every candidate and read.
MATCH_TARGET_FPR = 1e-9


@functools.lru_cache(maxsize=4)
def _codewords_cached(seed: bytes, identifiers: tuple[int, ...]) -> np.ndarray:
    count = len(identifiers)
    raw = bytearray()
    for identifier in identifiers:  # the message: the identifier, then its keyed check
        head = identifier.to_bytes(8, "big")
        raw += head + hmac.new(seed, head, hashlib.sha256).digest()[: CHECK_BITS // 8]
    message = np.zeros((count, _MESSAGE_BITS + _MEMORY), np.uint8)
    octets = np.frombuffer(bytes(raw), np.uint8).reshape(count, _MESSAGE_BITS // 8)
    message[:, :_MESSAGE_BITS] = np.unpackbits(octets, axis=1)
    state = np.zeros(count, np.int64)
    coded = np.empty((count, CODED_BITS), np.int8)
    rate = len(_GENERATORS)
    for step in range(_MESSAGE_BITS + _MEMORY):
        register = (message[:, step].astype(np.int64) << _MEMORY) | state
        for index, generator in enumerate(_GENERATORS):
            parity = np.bitwise_count(register & generator) & 1
            coded[:, step * rate + index] = 1 - 2 * parity.astype(np.int8)
        state = register >> 1
    coded.setflags(write=False)
    return coded


#: Most known identifiers matched against (their codewords take 330 bytes each).
MAX_KNOWN = 100_000


def known_identifiers(values: Sequence[str]) -> tuple[int, ...]:
    """The identifiers of a repository's soft-binding values (those that are not identifiers
    skipped), sorted; empty when there are more than :data:`MAX_KNOWN` (then the identifiers
    are decoded blind only)."""
    if len(values) > MAX_KNOWN:
        return ()
    known = []
    for value in values:
        try:
            known.append(parse_binding_value(value))
        except ArgumentError:
            continue
    return tuple(sorted(known))


def codewords(identifiers: Sequence[int], key: str | bytes) -> np.ndarray:
    """The coded messages of many identifiers at once, as :func:`encode` gives each (+1/-1,
    one row per identifier; cached for the last few sets)."""
    return _codewords_cached(
        _seed(key, b"check"), tuple(validate_identifier(i) for i in identifiers)
    )


def match_threshold(candidates: int, reads: int = MAX_DECODES) -> float:
    """The correlation a match must reach among ``candidates`` known identifiers, for
    :data:`MATCH_TARGET_FPR` per file over ``reads`` reads."""
    return bonferroni_threshold(max(1, candidates * reads), MATCH_TARGET_FPR)


def match_products(
    products: np.ndarray, key: str | bytes, identifiers: Sequence[int]
) -> tuple[int, float] | None:
    """(index, correlation) of the known identifier whose codeword the products carry best, or
    None when it does not reach :func:`match_threshold`.

    A file read blind needs enough signal for 104 bits; one that only has to be told apart
    from a list of known identifiers (a repository's) needs far less: its soft bits are
    correlated with each codeword, and under the null (no mark, or another key) each
    correlation is N(0, 1).
    """
    if not identifiers:
        return None
    soft = layout(key).soft_bits(products)
    spread = float(np.sqrt(np.mean(soft * soft)))
    if spread <= 0:
        return None
    scores = codewords(identifiers, key) @ (soft / (spread * math.sqrt(len(soft))))
    best = int(np.argmax(scores))
    value = float(scores[best])
    return (best, value) if value >= match_threshold(len(identifiers)) else None
