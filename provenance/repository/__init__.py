"""A manifest repository: signed C2PA manifest stores kept apart from the files they describe.

Platforms strip Content Credentials from the files they re-encode. A repository keeps each
manifest store a signer made, indexed by its manifest id and by the soft bindings it declares
(a watermark's algorithm and identifier), so a checker that reads the identifier back from a
stripped copy can recover the manifest. :class:`ManifestRepository` is the embedded, offline
default: one SQLite file.
"""

from provenance.repository.store import (
    ManifestRepository,
    RepositoryEntry,
    RepositoryError,
    iter_entries,
    read_manifest_store,
)

__all__ = [
    "ManifestRepository",
    "RepositoryEntry",
    "RepositoryError",
    "iter_entries",
    "read_manifest_store",
]
