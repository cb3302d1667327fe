"""Batch scans: walk, check in isolated workers, store, report (see ``provenance scan``)."""
