"""The package version (single source for pyproject and the reports)."""

__version__ = "0.1.0"
