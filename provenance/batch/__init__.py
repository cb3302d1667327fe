"""Many files: one walker, an isolated worker pool, the SQLite results store, the Dask engine.

:func:`~provenance.batch.engine.scan` is the library's batch entry point (``provenance.scan``);
``provenance check`` runs it in-process and ``provenance scan`` on worker processes. Nothing
here talks to a person or writes report files: progress, summaries and outputs belong to the
command line (:mod:`provenance.cli`) and the renderers (:mod:`provenance.render`).
"""
