"""A connection's one status: the most urgent of the authorizations that serve the viewer."""

from __future__ import annotations

import pytest

from plugboard.domain.connections import connection_status
from plugboard.domain.models import AuthorizationStatus as S


@pytest.mark.parametrize(
    ("statuses", "shown"),
    [
        ([], S.NOT_CONNECTED),
        ([S.CONNECTED], S.CONNECTED),
        ([S.CONNECTED, S.CONNECTED, S.CONNECTED], S.CONNECTED),
        ([S.CONNECTED, S.NOT_CONNECTED], S.NOT_CONNECTED),
        ([S.CONNECTED, S.NEEDS_REAUTH, S.NOT_CONNECTED], S.NEEDS_REAUTH),
        ([S.NEEDS_REAUTH, S.REVOKED], S.REVOKED),
        ([S.REVOKED, S.EXPIRED, S.CONNECTED], S.EXPIRED),
        ([S.EXPIRED, S.FAILED], S.FAILED),
    ],
)
def test_the_most_urgent_status_is_shown(statuses: list[S], shown: S) -> None:
    assert connection_status(statuses) is shown
