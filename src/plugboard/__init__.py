"""Plugboard: a self-hosted connections broker."""

from plugboard._version import __version__

__all__ = ["__version__"]
