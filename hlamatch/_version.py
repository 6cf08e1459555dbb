"""The version of hlamatch: the one place it is written (pyproject.toml reads it from here)."""

from __future__ import annotations

#: The version (PEP 440).  A change of the public contract (names, CLI options, output columns)
#: comes with a new version and a CHANGELOG.md entry.
__version__ = "0.2.0"


def installed_version() -> str:
    """The version of this copy of hlamatch (the checkout's or the installed package's: the same file)."""
    return __version__
