from __future__ import annotations

import pytest

from plugboard.crypto.keyring import Keyring, generate_key
from plugboard.crypto.sealing import Sealer, seal_context
from plugboard.errors import DecryptionFailed

SECRET = b"refresh-token-value-42"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(Keyring(keys=(generate_key(),), source="test"))


def test_sealed_value_opens_in_its_own_row_and_column(sealer: Sealer) -> None:
    context = seal_context("accounts", "credential_sealed", "acc_1")
    assert sealer.open(sealer.seal(SECRET, context), context) == SECRET


def test_sealed_value_holds_no_plaintext_and_names_its_key(sealer: Sealer) -> None:
    sealed = sealer.seal(SECRET, seal_context("accounts", "credential_sealed", "acc_1"))
    assert SECRET.decode() not in sealed
    assert sealed.startswith(f"pbs1.{sealer.keyring.current.id}.")


def test_sealed_value_moved_to_another_row_does_not_open(sealer: Sealer) -> None:
    sealed = sealer.seal(SECRET, seal_context("accounts", "credential_sealed", "acc_1"))
    with pytest.raises(DecryptionFailed, match="moved from another row"):
        sealer.open(sealed, seal_context("accounts", "credential_sealed", "acc_2"))


def test_sealed_value_moved_to_another_column_does_not_open(sealer: Sealer) -> None:
    sealed = sealer.seal(SECRET, seal_context("accounts", "credential_sealed", "x_1"))
    with pytest.raises(DecryptionFailed):
        sealer.open(sealed, seal_context("oauth_flows", "secrets_sealed", "x_1"))


def test_tampered_value_does_not_open(sealer: Sealer) -> None:
    context = seal_context("accounts", "credential_sealed", "acc_1")
    sealed = sealer.seal(SECRET, context)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(DecryptionFailed):
        sealer.open(flipped, context)


def test_malformed_value_is_refused(sealer: Sealer) -> None:
    with pytest.raises(DecryptionFailed, match="malformed"):
        sealer.open("not-sealed-at-all", seal_context("t", "c", "1"))


def test_each_seal_uses_a_fresh_nonce(sealer: Sealer) -> None:
    context = seal_context("accounts", "credential_sealed", "acc_1")
    assert sealer.seal(SECRET, context) != sealer.seal(SECRET, context)


def test_newest_key_encrypts_and_older_keys_still_decrypt() -> None:
    old = generate_key()
    before = Sealer(Keyring(keys=(old,), source="test"))
    context = seal_context("accounts", "credential_sealed", "acc_1")
    sealed_with_old = before.seal(SECRET, context)

    new = generate_key([old.id])
    after = Sealer(Keyring(keys=(old, new), source="test"))
    assert after.open(sealed_with_old, context) == SECRET
    assert Sealer.key_id_of(after.seal(SECRET, context)) == new.id
    assert after.needs_reseal(sealed_with_old)


def test_value_sealed_with_an_unknown_key_names_the_key_id_only() -> None:
    a, b = generate_key(), generate_key()
    context = seal_context("t", "c", "1")
    sealed = Sealer(Keyring(keys=(a,), source="test")).seal(SECRET, context)
    other = Sealer(Keyring(keys=(b,), source="test"))
    assert a.id == b.id  # both "k1": the key id alone must not open it
    with pytest.raises(DecryptionFailed) as raised:
        other.open(sealed, context)
    assert a.material.hex() not in str(raised.value)
