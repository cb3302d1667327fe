"""The AI-declaration walk: every manifest and ingredient of a C2PA manifest store.

AI signals are often not in the active manifest: ChatGPT puts DALL-E's ``c2pa.created`` in a
parent manifest, Premiere keeps a Firefly edit only in a component ingredient, and Bing Image
Creator writes no ``digitalSourceType`` at all, only the description "AI Generated Image". So
this module locates every manifest relative to the active one, normalises every
``digitalSourceType``, and falls back to softwareAgent, description and claim-generator text.

Signal names follow the C2PA conformance program (fullyGenAIMedia, partlyGenAICreation,
compositionMayContainGenAI, capturedMedia, ...); two are ours: ``textDeclaredGenAI`` (an
explicit "AI generated" text) and ``knownGenAITool`` (a generator's name, weaker).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from provenance.report import (
    Action,
    AIDeclaration,
    AISignal,
    Ingredient,
    ManifestSummary,
    SignalLocation,
    Signer,
    SoftBinding,
)

__all__ = [
    "CATEGORY_ORDER",
    "SOURCE_TYPE_MEANINGS",
    "UNKNOWN_ALGORITHM",
    "classify_store",
    "locate_manifests",
    "normalise_source_type",
    "soft_bindings",
    "summarise_manifests",
]

#: Strongest first; the store's declaration is the strongest category among its signals.
CATEGORY_ORDER = (
    AIDeclaration.GENERATIVE_AI,
    AIDeclaration.CONTAINS_AI,
    AIDeclaration.POSSIBLY_AI,
    AIDeclaration.CAPTURE,
    AIDeclaration.OTHER,
)

_FULLY_GENERATED = {"trainedAlgorithmicMedia", "trainedAlgorithmicData"}
_PARTLY_GENERATED = {"compositeWithTrainedAlgorithmicMedia", "compositeSynthetic"}
_MAYBE_GENERATED = {
    "composite": "compositionMayContainGenAI",
    "screenCapture": "screenCaptureMayContainGenAI",
    "digitalArt": "digitalArtMayContainGenAI",
    "virtualRecording": "virtualRecordingMayContainGenAI",
}
_CAPTURE = {
    "digitalCapture",
    "computationalCapture",
    "compositeCapture",
    "negativeFilm",
    "positiveFilm",
    "print",
}
_INCEPTION_ACTIONS = {"c2pa.created", "c2pa.opened"}

#: The algorithm of a soft binding whose ``alg`` is missing or not a string (never indexed).
UNKNOWN_ALGORITHM = "unknown"

#: Plain-language meaning of the IPTC digital source types (the term after the last ``/``).
SOURCE_TYPE_MEANINGS = {
    "trainedAlgorithmicMedia": "made by a generative AI model",
    "trainedAlgorithmicData": "data made by a generative AI model",
    "compositeWithTrainedAlgorithmicMedia": "combines generative-AI elements with other media",
    "compositeSynthetic": "a composite that includes synthetic (AI or computer-made) elements",
    "algorithmicMedia": "made by an algorithm without a trained model (e.g. procedural)",
    "algorithmicallyEnhanced": "captured media improved by algorithms (e.g. denoising)",
    "dataDrivenMedia": "made from data (e.g. a chart or a sonification)",
    "digitalCapture": "captured by a digital camera or recorder",
    "computationalCapture": "captured with computational processing (e.g. a phone's HDR)",
    "compositeCapture": "several captures combined (e.g. panorama, focus stacking)",
    "negativeFilm": "scanned from a film negative",
    "positiveFilm": "scanned from a slide or positive film",
    "print": "scanned from a print",
    "humanEdits": "edited by a person",
    "minorHumanEdits": "lightly edited by a person",
    "digitalCreation": "created by a person with digital tools",
    "digitalArt": "digital art made by a person (may contain generative AI)",
    "composite": "a composite of several elements (may contain generative AI)",
    "screenCapture": "a screen capture (may contain generative AI)",
    "virtualRecording": "a recording of a virtual scene (may contain generative AI)",
}

_EXPLICIT_AI_TEXT = re.compile(
    r"\bAI[-\s]?generated\b|\bgenerated\s+(?:by|with|using)\s+(?:an?\s+)?(?:AI|artificial intelligence)\b"
    r"|\bgenerative\s+AI\b|\bAI[-\s]?created\b|\bsynthetic(?:ally)?\s+generated\b",
    re.IGNORECASE,
)
_KNOWN_AI_TOOLS = re.compile(
    r"DALL[\s\-·.]?E|Firefly|Midjourney|Stable\s*Diffusion|Stability\s*AI|Imagen|\bSora\b|"
    r"\bRunway\b|\bKling\b|\bVeo\b|\bGemini\b|Image\s+Creator|Microsoft_Responsible_AI|"
    r"Responsible\s+AI|OpenAI|Leonardo\.?Ai|Ideogram|\bFLUX\b|Black\s+Forest\s+Labs|"
    r"\bPika\b|Dream\s+Machine|\bHailuo\b|Nano\s+Banana|\bGrok\b",
    re.IGNORECASE,
)


def normalise_source_type(value: str) -> str:
    """Normalise a digitalSourceType: strip blanks, drop the scheme and path, keep the term.

    ``" http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"`` and
    ``"https://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture/"`` both give
    ``"digitalCapture"``.
    """
    term = value.strip().rstrip("/")
    for separator in ("/", "#", ":"):
        if separator in term:
            term = term.rsplit(separator, 1)[-1]
    return term.strip()


def _agent_text(agent: Any) -> str | None:
    if agent is None:
        return None
    if isinstance(agent, Mapping):
        name = str(agent.get("name") or "").strip()
        version = str(agent.get("version") or "").strip()
        return f"{name} {version}".strip() or None
    text = str(agent).strip()
    return text or None


def _claim_generator(manifest: Mapping[str, Any]) -> str | None:
    generator = manifest.get("claim_generator")
    if generator:
        return str(generator)
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info:
        names = [_agent_text(item) for item in info]
        return "; ".join(name for name in names if name) or None
    return None


def _ingredient_manifest(ingredient: Mapping[str, Any]) -> str | None:
    label = ingredient.get("active_manifest")
    if label:
        return str(label)
    data = ingredient.get("manifest_data")
    if isinstance(data, Mapping) and data.get("identifier"):
        return str(data["identifier"])
    return None


def locate_manifests(store: Mapping[str, Any]) -> dict[str, SignalLocation]:
    """Place every manifest of the store relative to the active one.

    The active manifest and manifests reached from it only through ``parentOf`` ingredients
    are the asset's own history (``active_manifest`` / ``parent``); a manifest reached through
    a ``componentOf`` or ``inputTo`` ingredient is a component; the rest are unlinked.
    """
    manifests: Mapping[str, Any] = store.get("manifests") or {}
    active = store.get("active_manifest")
    locations: dict[str, SignalLocation] = {}
    if isinstance(active, str) and active in manifests:
        locations[active] = SignalLocation.ACTIVE
        queue: deque[str] = deque([active])
        while queue:
            label = queue.popleft()
            for ingredient in manifests[label].get("ingredients") or []:
                child = _ingredient_manifest(ingredient)
                if child is None or child not in manifests or child in locations:
                    continue
                own_history = locations[label] in (SignalLocation.ACTIVE, SignalLocation.PARENT)
                is_parent = ingredient.get("relationship", "componentOf") == "parentOf"
                locations[child] = (
                    SignalLocation.PARENT
                    if own_history and is_parent
                    else SignalLocation.INGREDIENT
                )
                queue.append(child)
    for label in manifests:
        locations.setdefault(label, SignalLocation.UNLINKED)
    return locations


def _assertions(manifest: Any, prefix: str) -> Iterator[Mapping[str, Any]]:
    """The ``data`` of each of the manifest's assertions whose label starts with ``prefix``;
    an assertion whose data is not a map (a list, a number, null: a signer can write any
    shape under a custom label) gives an empty map, so its fields read as absent."""
    if not isinstance(manifest, Mapping):
        return
    assertions = manifest.get("assertions")
    for assertion in assertions if isinstance(assertions, list) else []:
        if not isinstance(assertion, Mapping):
            continue
        if str(assertion.get("label", "")).startswith(prefix):
            data = assertion.get("data")
            yield data if isinstance(data, Mapping) else {}


def _actions(manifest: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for data in _assertions(manifest, "c2pa.actions"):
        actions = data.get("actions")
        for action in actions if isinstance(actions, list) else []:
            if isinstance(action, Mapping):
                yield action


def _source_type_signal(
    term: str, action_name: str, location: SignalLocation
) -> tuple[str, AIDeclaration]:
    own = location in (SignalLocation.ACTIVE, SignalLocation.PARENT)
    inception = action_name in _INCEPTION_ACTIONS
    if term in _FULLY_GENERATED:
        if own and inception:
            return "fullyGenAIMedia", AIDeclaration.GENERATIVE_AI
        return ("perceptibleGenAI" if own else "fullyGenAIMedia"), AIDeclaration.CONTAINS_AI
    if term in _PARTLY_GENERATED:
        return "partlyGenAICreation", AIDeclaration.CONTAINS_AI
    if term in _MAYBE_GENERATED:
        return _MAYBE_GENERATED[term], AIDeclaration.POSSIBLY_AI
    if term in _CAPTURE:
        return "capturedMedia", AIDeclaration.CAPTURE
    if term == "empty":
        return "blankCanvas", AIDeclaration.OTHER
    return "otherSourceType", AIDeclaration.OTHER


def classify_store(
    store: Mapping[str, Any], locations: Mapping[str, SignalLocation] | None = None
) -> tuple[AIDeclaration, tuple[AISignal, ...]]:
    """Collect every AI-related signal of the store and the declaration they add up to."""
    manifests: Mapping[str, Any] = store.get("manifests") or {}
    where = locations if locations is not None else locate_manifests(store)
    signals: list[AISignal] = []
    for label, manifest in manifests.items():
        location = where.get(label, SignalLocation.UNLINKED)
        own = location in (SignalLocation.ACTIVE, SignalLocation.PARENT)
        for action in _actions(manifest):
            action_name = str(action.get("action", ""))
            agent = _agent_text(action.get("softwareAgent"))
            raw = action.get("digitalSourceType")
            if isinstance(raw, str) and raw.strip():
                term = normalise_source_type(raw)
                signal, category = _source_type_signal(term, action_name, location)
                signals.append(
                    AISignal(
                        signal,
                        category,
                        location,
                        label,
                        "digitalSourceType",
                        term,
                        raw,
                        action_name,
                        agent,
                    )
                )
            description = action.get("description")
            for field_name, text in (("description", description), ("softwareAgent", agent)):
                if not isinstance(text, str) or not text.strip():
                    continue
                if _EXPLICIT_AI_TEXT.search(text):
                    name = "textDeclaredGenAI"
                    inception = own and action_name in _INCEPTION_ACTIONS
                    category = (
                        AIDeclaration.GENERATIVE_AI if inception else AIDeclaration.CONTAINS_AI
                    )
                elif field_name == "softwareAgent" and _KNOWN_AI_TOOLS.search(text):
                    name, category = "knownGenAITool", AIDeclaration.POSSIBLY_AI
                else:
                    continue
                signals.append(
                    AISignal(
                        name,
                        category,
                        location,
                        label,
                        field_name,
                        text.strip(),
                        text,
                        action_name,
                        agent,
                    )
                )
        generator = _claim_generator(manifest)
        if generator and (_EXPLICIT_AI_TEXT.search(generator) or _KNOWN_AI_TOOLS.search(generator)):
            signals.append(
                AISignal(
                    "knownGenAITool",
                    AIDeclaration.POSSIBLY_AI,
                    location,
                    label,
                    "claim_generator",
                    generator,
                    generator,
                )
            )
    present = {s.category for s in signals}
    declaration = next((c for c in CATEGORY_ORDER if c in present), AIDeclaration.NONE)
    ranked = sorted(signals, key=lambda s: CATEGORY_ORDER.index(s.category))
    return declaration, tuple(ranked)


def _signer(manifest: Mapping[str, Any]) -> Signer | None:
    info = manifest.get("signature_info")
    if not isinstance(info, Mapping):
        return None
    return Signer(
        issuer=info.get("issuer"),
        common_name=info.get("common_name"),
        serial_number=info.get("cert_serial_number"),
        algorithm=info.get("alg"),
        signing_time=info.get("time"),
    )


def summarise_manifests(
    store: Mapping[str, Any], locations: Mapping[str, SignalLocation]
) -> tuple[ManifestSummary, ...]:
    """The store's manifests, active first, then in walk order: the asset's history."""
    manifests: Mapping[str, Any] = store.get("manifests") or {}
    order = sorted(manifests, key=lambda label: list(SignalLocation).index(locations[label]))
    summaries = []
    for label in order:
        manifest = manifests[label]
        actions = tuple(
            Action(
                action=str(a.get("action", "")),
                digital_source_type=(
                    normalise_source_type(a["digitalSourceType"])
                    if isinstance(a.get("digitalSourceType"), str)
                    else None
                ),
                software_agent=_agent_text(a.get("softwareAgent")),
                description=a.get("description") if isinstance(a.get("description"), str) else None,
                when=a.get("when") if isinstance(a.get("when"), str) else None,
            )
            for a in _actions(manifest)
        )
        ingredients = tuple(
            Ingredient(
                title=i.get("title"),
                relationship=i.get("relationship"),
                format=i.get("format"),
                manifest_label=_ingredient_manifest(i),
            )
            for i in manifest.get("ingredients") or []
            if isinstance(i, Mapping)
        )
        summaries.append(
            ManifestSummary(
                label=label,
                location=locations[label],
                claim_generator=_claim_generator(manifest),
                title=manifest.get("title"),
                format=manifest.get("format"),
                signer=_signer(manifest),
                actions=actions,
                ingredients=ingredients,
            )
        )
    return tuple(summaries)


def soft_bindings(store: Mapping[str, Any]) -> tuple[SoftBinding, ...]:
    """Soft-binding (watermark / fingerprint) references declared in any manifest.

    Fields of another shape than the specification's (``alg`` a string, ``blocks`` a list of
    maps, ``value`` a string) read as absent: the algorithm is then :data:`UNKNOWN_ALGORITHM`
    and the value None, so a hostile assertion is listed but never indexed or looked up.
    """
    found: list[SoftBinding] = []
    manifests = store.get("manifests")
    for label, manifest in (manifests if isinstance(manifests, Mapping) else {}).items():
        for data in _assertions(manifest, "c2pa.soft-binding"):
            alg = data.get("alg")
            algorithm = alg if isinstance(alg, str) and alg.strip() else UNKNOWN_ALGORITHM
            blocks = data.get("blocks")
            if not isinstance(blocks, list) or not blocks:
                blocks = [{}]
            for block in blocks:
                scope = block.get("scope") if isinstance(block, Mapping) else None
                value = block.get("value") if isinstance(block, Mapping) else None
                found.append(
                    SoftBinding(
                        algorithm=algorithm,
                        manifest_label=str(label),
                        scope=_compact(scope),
                        value=value if isinstance(value, str) else None,
                    )
                )
    return tuple(found)


def _compact(value: Any, depth: int = 0) -> str | None:
    """A short text for a scope of any shape (nesting past a few levels shows as ``...``)."""
    if value in (None, {}, []):
        return None
    if depth >= 4:
        return "..."
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_compact(v, depth + 1)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(str(_compact(v, depth + 1)) for v in value) + "]"
    return str(value)
