"""The installed version of hlamatch, read on first use (importlib.metadata costs a command's start-up)."""

from __future__ import annotations


def installed_version() -> str:
    """The installed version (read on first use: importlib.metadata costs a command's start-up)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hlamatch")
    except PackageNotFoundError:  # running from a checkout without installing
        return "0+unknown"
