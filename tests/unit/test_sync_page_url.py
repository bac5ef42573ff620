"""A sync sends a page's parameters in its URL (usecases/sync.py: _page_url): the URL must be
the one httpx2 makes of ``params``, byte for byte."""

from __future__ import annotations

import httpx2
import pytest

from plugboard.domain.pagination import PageRequest
from plugboard.usecases.sync import _page_url

TRICKY = {"style": "cursor", "after": "a+b/c=d e&f{x}%2Fé~*'()!", "limit": "100"}


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1/records",
        "https://api.example.com/v1/records?fixed=1&limit=5",  # httpx2: params replace it
        "https://api.example.com/v1/r%C3%A9cords",
    ],
)
def test_the_page_url_is_the_url_httpx2_makes_of_the_parameters(url: str) -> None:
    expected = httpx2.Request("GET", url, params=TRICKY).url
    assert httpx2.URL(_page_url(PageRequest(2, url, TRICKY))) == expected
    assert _page_url(PageRequest(2, url, TRICKY)) == str(expected)


def test_a_page_without_parameters_keeps_its_url() -> None:
    url = "https://api.example.com/v1/records?page=2"
    assert _page_url(PageRequest(2, url, {})) == url
