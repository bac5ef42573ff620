from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from plugboard.domain.urls import placeholders, substitute
from plugboard.errors import ValidationError

SHOPIFY = "https://{shop}.myshopify.com/admin/{path}"
HOSTILE = [
    "evil.com/",
    "a@b",
    "../",
    "x#y",
    "%2e%2e",
    "a.evil.com",
    "a:1",
    "..",
    "",
    "évil",
    "acme\n",
]


def test_placeholders_lists_every_key() -> None:
    assert placeholders("https://{domain}.x.com/{a}/{b}?q={a}") == {"domain", "a", "b"}


def test_values_are_substituted() -> None:
    url = substitute(SHOPIFY, {"shop": "acme-store", "path": "orders.json"})
    assert url == "https://acme-store.myshopify.com/admin/orders.json"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_shop_value_is_refused_naming_the_parameter(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        substitute(SHOPIFY, {"shop": value, "path": "p"})
    assert caught.value.field == "dynamic_parameters.shop"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_path_value_keeps_the_host_and_stays_in_its_segment(value: str) -> None:
    try:
        url = substitute(SHOPIFY, {"shop": "acme", "path": value})
    except ValidationError as refused:
        assert refused.field == "dynamic_parameters.path"
        return
    parts = urlsplit(url)
    assert parts.hostname == "acme.myshopify.com"
    assert parts.path.startswith("/admin/")
    assert "/" not in parts.path.removeprefix("/admin/")
    assert parts.query == "" and parts.fragment == ""


@pytest.mark.parametrize("value", ["..", ".", "../", "x/../y", "..\\x"])
def test_dot_segments_in_a_path_value_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="segment"):
        substitute(SHOPIFY, {"shop": "acme", "path": value})


def test_percent_in_a_path_value_is_encoded_so_it_cannot_decode_to_dots() -> None:
    url = substitute(SHOPIFY, {"shop": "acme", "path": "%2e%2e"})
    assert url.endswith("/admin/%252e%252e")


def test_dots_joined_from_two_values_cannot_form_a_dot_segment() -> None:
    with pytest.raises(ValidationError):
        substitute("https://x.com/a/{p}{q}/b", {"p": ".", "q": "."})


def test_whole_host_placeholder_takes_dotted_labels() -> None:
    url = substitute("https://{domain}/services/data", {"domain": "acme.my.salesforce.com"})
    assert urlsplit(url).hostname == "acme.my.salesforce.com"


@pytest.mark.parametrize(
    "value", ["evil.com/", "a@b", "a:1", "..", "a..b", "", "-a.com", "acme.com\n"]
)
def test_whole_host_placeholder_refuses_non_hostnames(value: str) -> None:
    with pytest.raises(ValidationError):
        substitute("https://{domain}/x", {"domain": value})


def test_query_value_is_encoded_as_a_value() -> None:
    url = substitute("https://x.com/s?q={q}&page=1", {"q": "a&page=99#frag"})
    assert urlsplit(url).query == "q=a%26page%3D99%23frag&page=1"


def test_port_placeholder_takes_digits_only() -> None:
    assert substitute("https://x.com:{port}/", {"port": "8443"}) == "https://x.com:8443/"
    with pytest.raises(ValidationError):
        substitute("https://x.com:{port}/", {"port": "80@evil.com"})


def test_missing_value_is_required() -> None:
    with pytest.raises(ValidationError) as caught:
        substitute(SHOPIFY, {"shop": "acme"})
    assert (caught.value.field, caught.value.rule) == ("dynamic_parameters.path", "required")


def test_a_value_holding_a_placeholder_is_not_substituted_again() -> None:
    url = substitute("https://x.com/{a}/{b}", {"a": "{b}", "b": "z"})
    assert url == "https://x.com/%7Bb%7D/z"


def test_placeholder_in_scheme_is_refused() -> None:
    with pytest.raises(ValidationError):
        substitute("{scheme}://x.com/", {"scheme": "https"})


def test_refusal_message_does_not_echo_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        substitute(SHOPIFY, {"shop": "s3cret.value", "path": "p"})
    assert "s3cret" not in str(caught.value)
