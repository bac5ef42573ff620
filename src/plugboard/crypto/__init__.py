"""Encryption at rest: versioned master keys (keyring) and AES-256-GCM sealing bound to a row."""

from plugboard.crypto.keyring import Keyring, generate_key, load_keyring
from plugboard.crypto.sealing import Sealer, seal_context

__all__ = ["Keyring", "Sealer", "generate_key", "load_keyring", "seal_context"]
