"""RFC 7636 appendix B (S256) through Authlib and through plugboard.domain.urls."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from plugboard.domain.urls import PKCE_VERIFIER_ALPHABET, pkce_challenge, pkce_pair

VECTOR = json.loads(
    (Path(__file__).parents[1] / "vectors" / "pkce_rfc7636.json").read_text(encoding="utf-8")
)


def test_verifier_is_the_base64url_of_the_rfc_octets() -> None:
    octets = bytes(VECTOR["code_verifier_random_octets"])
    assert base64.urlsafe_b64encode(octets).rstrip(b"=").decode() == VECTOR["code_verifier"]


def test_authlib_challenge_matches_rfc() -> None:
    assert create_s256_code_challenge(VECTOR["code_verifier"]) == VECTOR["code_challenge"]


def test_plugboard_challenge_matches_rfc() -> None:
    assert pkce_challenge(VECTOR["code_verifier"]) == VECTOR["code_challenge"]


def test_pkce_pair_verifier_has_allowed_length_and_alphabet() -> None:
    for length in (43, 64, 128):
        verifier, challenge = pkce_pair(length)
        assert len(verifier) == length
        assert set(verifier) <= PKCE_VERIFIER_ALPHABET
        assert challenge == create_s256_code_challenge(verifier)


def test_pkce_pairs_are_fresh() -> None:
    assert pkce_pair()[0] != pkce_pair()[0]


def test_pkce_pair_refuses_a_length_outside_43_to_128() -> None:
    import pytest

    from plugboard.errors import ValidationError

    for length in (42, 129):
        with pytest.raises(ValidationError):
            pkce_pair(length)
