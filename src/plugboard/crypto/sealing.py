"""AES-256-GCM sealing of secret values, bound to the row and column they are stored in.

A sealed value is text: `pbs1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The associated
data is `<table>.<column>:<row id>`, so a ciphertext copied into another row or column fails to
open. A fresh 96-bit random nonce per seal.

A keyring read from the key file is read again when the file has changed: before sealing (so a
running process encrypts with the key another process's `plugboard keys rotate` added) and when a
value names a key the keyring does not know. Keys from the environment never change while running.
"""

from __future__ import annotations

import base64
import logging
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from plugboard.crypto.keyring import Keyring
from plugboard.errors import ConfigurationError, DecryptionFailed

log = logging.getLogger("plugboard.keys")

PREFIX = "pbs1"
NONCE_BYTES = 12


def seal_context(table: str, column: str, row_id: str) -> bytes:
    return f"{table}.{column}:{row_id}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_Ciphers = dict[str, AESGCM]


def _ciphers(keyring: Keyring) -> _Ciphers:
    return {key.id: AESGCM(key.material) for key in keyring.keys}


class Sealer:
    def __init__(self, keyring: Keyring) -> None:
        # One attribute holds the keyring and its ciphers, so a reload swaps both at once.
        self._state: tuple[Keyring, _Ciphers] = (keyring, _ciphers(keyring))
        self._reload_lock = threading.Lock()

    @property
    def keyring(self) -> Keyring:
        return self._state[0]

    def _refresh(self) -> tuple[Keyring, _Ciphers]:
        """The state, after reading the key file again if it changed since it was read."""
        state = self._state
        file = state[0].file
        if file is None or not file.changed():
            return state
        with self._reload_lock:
            state = self._state
            file = state[0].file
            if file is None or not file.changed():
                return state
            try:
                keyring = file.load()
            except (ConfigurationError, OSError) as exc:
                log.warning("key file %s changed but cannot be read: %s", file.path, exc)
                return state
            self._state = state = (keyring, _ciphers(keyring))
            log.info(
                "key file %s read again: keys %s, encrypting with %s",
                file.path,
                ", ".join(k.id for k in keyring.keys),
                keyring.current.id,
            )
            return state

    def seal(self, plaintext: bytes, context: bytes) -> str:
        keyring, ciphers = self._refresh()
        key = keyring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = ciphers[key.id].encrypt(nonce, plaintext, context)
        return f"{PREFIX}.{key.id}.{_b64(nonce + sealed)}"

    def open(self, sealed: str, context: bytes) -> bytes:
        prefix, _, rest = sealed.partition(".")
        key_id, _, body = rest.partition(".")
        if prefix != PREFIX or not key_id or not body:
            raise DecryptionFailed("sealed value is malformed")
        keyring, ciphers = self._state
        cipher = ciphers.get(key_id)
        if cipher is None:
            keyring, ciphers = self._refresh()
            cipher = ciphers.get(key_id)
        if cipher is None:
            raise DecryptionFailed(
                f"sealed with key {key_id!r}, which is not in the keyring ({keyring.source})"
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
        return self.key_id_of(sealed) != self._refresh()[0].current.id
