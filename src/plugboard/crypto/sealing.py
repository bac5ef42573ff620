"""AES-256-GCM sealing of secret values, bound to the row and column they are stored in.

A sealed value is text: `pbs1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The associated
data is `<table>.<column>:<row id>`, so a ciphertext copied into another row or column fails to
open. A fresh 96-bit random nonce per seal.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from plugboard.crypto.keyring import Keyring
from plugboard.errors import DecryptionFailed

PREFIX = "pbs1"
NONCE_BYTES = 12


def seal_context(table: str, column: str, row_id: str) -> bytes:
    return f"{table}.{column}:{row_id}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sealer:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._ciphers = {key.id: AESGCM(key.material) for key in keyring.keys}

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    def seal(self, plaintext: bytes, context: bytes) -> str:
        key = self._keyring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key.id].encrypt(nonce, plaintext, context)
        return f"{PREFIX}.{key.id}.{_b64(nonce + sealed)}"

    def open(self, sealed: str, context: bytes) -> bytes:
        prefix, _, rest = sealed.partition(".")
        key_id, _, body = rest.partition(".")
        if prefix != PREFIX or not key_id or not body:
            raise DecryptionFailed("sealed value is malformed")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionFailed(
                f"sealed with key {key_id!r}, which is not in the keyring ({self._keyring.source})"
            )
        try:
            raw = _unb64(body)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context)
        except (InvalidTag, ValueError):
            raise DecryptionFailed(
                "sealed value does not open: tampered, or moved from another row or column"
            ) from None

    @staticmethod
    def key_id_of(sealed: str) -> str:
        return sealed.split(".", 2)[1]

    def needs_reseal(self, sealed: str) -> bool:
        return self.key_id_of(sealed) != self._keyring.current.id
