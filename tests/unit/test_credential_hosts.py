"""A connection's credential goes to its service's origins (scheme, host, port) and nowhere else:
the origin of base_url after substitution, and the origins the definition's `hosts` lists."""

from __future__ import annotations

from typing import Any

import pytest

from plugboard.catalog.loader import builtin_services
from plugboard.domain.hosts import check_credential_target, credential_goes_to
from plugboard.domain.origins import parse_origin
from plugboard.domain.service import parse_service
from plugboard.errors import OutboundBlocked, ValidationError

VALUES: dict[str, dict[str, str]] = {
    "aws_s3": {"region": "eu-west-1"},
    "aws_sqs": {"region": "us-east-1"},
    "aws_dynamodb": {"region": "us-east-1"},
    "salesforce": {"domain": "zylker"},
    "shopify": {"shop": "zylker"},
    "zendesk": {"subdomain": "zylker"},
    "mailchimp": {"dc": "us6"},
    "zoho_crm": {"dc": "com"},
    "zoho_oauth": {"dc": "eu"},
    "zoho_books": {"dc": "com"},
    "zoho_desk": {"dc": "com"},
    "zoho_projects": {"dc": "com"},
    "zoho_recruit": {"dc": "com"},
    "zoho_sheet": {"dc": "com"},
    "jira_cloud": {"cloud_id": "0" * 36},
}


def custom(http_hosts: tuple[str, ...] | list[str] = (), **fields: Any) -> Any:
    data = {"name": "Custom", "link_name": "custom", "auth_type": "basic", **fields}
    return parse_service(data, builtin=False, http_hosts=http_hosts)


def allowed(service: Any, url: str, values: dict[str, str] | None = None, **kw: Any) -> bool:
    return credential_goes_to(service, values or {}, url, **kw)


# --- built-ins -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("google_sheets", "https://sheets.googleapis.com/v4/spreadsheets/x"),
        ("google_sheets", "https://www.googleapis.com/drive/v3/files"),
        ("dropbox", "https://content.dropboxapi.com/2/files/upload"),
        ("github", "https://uploads.github.com/repos/o/r/releases/1/assets"),
        ("github", "https://api.github.com:443/user"),
        ("aws_s3", "https://bucket.s3.eu-west-1.amazonaws.com/key"),
        ("aws_s3", "https://s3.eu-west-1.amazonaws.com/bucket/key"),
        ("salesforce", "https://zylker.my.salesforce.com/services/data/v60"),
        ("shopify", "https://zylker.myshopify.com/admin/api/2024-01/shop.json"),
        ("microsoft_graph", "https://GRAPH.microsoft.com/v1.0/me"),
        ("zoho_crm", "https://content.zohoapis.com/crm/v8/files"),
        ("twilio", "https://verify.twilio.com/v2/Services"),
    ],
)
def test_a_credential_goes_to_its_services_origins(service: str, url: str) -> None:
    check_credential_target(builtin_services()[service], VALUES.get(service, {}), url)


def _attacker_under_parent(link: str) -> str:
    service = builtin_services()[link]
    assert service.base_url is not None
    from plugboard.domain.urls import substitute

    home = parse_origin(substitute(service.base_url, VALUES.get(link, {})))
    assert home is not None
    parent = home.host.split(".", 1)[1]
    return f"https://attacker.{parent}/steal"


@pytest.mark.parametrize("link", sorted(builtin_services()))
def test_no_builtin_accepts_attacker_under_its_parent_domain(link: str) -> None:
    url = _attacker_under_parent(link)
    with pytest.raises(OutboundBlocked, match="not an origin of service"):
        check_credential_target(builtin_services()[link], VALUES.get(link, {}), url)


@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("shopify", "https://attacker.myshopify.com/admin/api"),
        ("microsoft_graph", "https://attacker.microsoft.com/v1.0/me"),
        ("aws_sqs", "https://attacker.us-east-1.amazonaws.com/"),
        ("aws_s3", "https://attacker.eu-west-1.amazonaws.com/"),
        ("aws_s3", "https://a.b.s3.eu-west-1.amazonaws.com/"),
        ("aws_s3", "https://bucket.s3.us-east-1.amazonaws.com/"),
        ("salesforce", "https://other.my.salesforce.com/services/data"),
        ("github", "https://collector.attacker.example/steal"),
        ("github", "https://api.github.com.attacker.example/x"),
        ("github", "https://api.github.com:8443/user"),
        ("github", "http://api.github.com/user"),
        ("github", "https://api.github.com@evil.com/user"),
        ("github", "https://user:pw@api.github.com/user"),
        ("github", "https://api.github.com\\@evil.com/user"),
        ("slack", "https://notslack.com/api"),
        ("zoho_oauth", "https://content.zohoapis.com/x"),
    ],
)
def test_a_credential_is_refused_for_any_other_origin(service: str, url: str) -> None:
    with pytest.raises(OutboundBlocked):
        check_credential_target(builtin_services()[service], VALUES.get(service, {}), url)


# --- custom services -------------------------------------------------------------------------


def test_herokuapp_service_does_not_send_to_a_look_alike_app() -> None:
    service = custom(base_url="https://x.herokuapp.com/api")
    assert allowed(service, "https://x.herokuapp.com/api/items")
    assert not allowed(service, "https://evil.herokuapp.com/api/items")
    assert not allowed(service, "https://herokuapp.com/api/items")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.zylker.com/v1/x", True),
        ("https://API.Zylker.COM/v1/x", True),
        ("https://api.zylker.com./v1/x", True),
        ("https://api.zylker.com:443/v1/x", True),
        ("https://api.zylker.com:8443/v1/x", False),
        ("http://api.zylker.com/v1/x", False),
        ("http://api.zylker.com:443/v1/x", False),
        ("https://api.zylker.com.evil.com/v1/x", False),
        ("https://api.zylker.com@evil.com/v1/x", False),
        ("https://evil.com#@api.zylker.com/v1", False),
        ("https://xapi.zylker.com/v1/x", False),
        ("https://zylker.com/v1/x", False),
        ("ftp://api.zylker.com/v1/x", False),
        ("https://api.zylker.com:99999/x", False),
        ("//api.zylker.com/x", False),
    ],
)
def test_only_the_exact_origin_of_base_url_is_allowed(url: str, ok: bool) -> None:
    assert allowed(custom(base_url="https://api.zylker.com/v1"), url) is ok


def test_another_port_of_the_same_host_is_refused() -> None:
    service = custom(base_url="http://127.0.0.1:9000/api", http_hosts=["127.0.0.1"])
    assert allowed(service, "http://127.0.0.1:9000/api/x", http_hosts=["127.0.0.1"])
    assert not allowed(service, "http://127.0.0.1:9001/api/x", http_hosts=["127.0.0.1"])
    assert not allowed(service, "http://127.0.0.2:9000/api/x", http_hosts=["127.0.0.1"])


def test_plain_http_needs_the_host_in_allow_http_hosts_when_sending() -> None:
    service = custom(base_url="http://intranet.zylker.lan:9000/api", http_hosts=["*"])
    with pytest.raises(OutboundBlocked, match="PLUGBOARD_ALLOW_HTTP_HOSTS"):
        check_credential_target(service, {}, "http://intranet.zylker.lan:9000/api/x")
    check_credential_target(service, {}, "http://intranet.zylker.lan:9000/api/x", ["*"])
    check_credential_target(
        service, {}, "http://intranet.zylker.lan:9000/api/x", ["intranet.zylker.lan"]
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_a_loopback_http_base_url_receives_its_credential_on_exactly_its_origin(host: str) -> None:
    service = custom(base_url=f"http://{host}:9000/api", http_hosts=["*"])
    assert allowed(service, f"http://{host}:9000/api/x")
    assert not allowed(service, f"http://{host}:9001/api/x")
    assert not allowed(service, "http://192.168.1.5:9000/api/x")


def test_an_https_service_is_never_downgraded_even_for_an_allowed_http_host() -> None:
    service = custom(base_url="https://api.zylker.com")
    assert not allowed(service, "http://api.zylker.com/x", http_hosts=["api.zylker.com"])


def test_listed_hosts_are_origins_too_with_one_label_placeholders() -> None:
    service = custom(
        base_url="https://api.zylker.com",
        hosts=["https://uploads.zylker.com", "https://{tenant}.files.zylker.com:8443"],
    )
    assert allowed(service, "https://uploads.zylker.com/x")
    assert allowed(service, "https://acme.files.zylker.com:8443/x")
    assert not allowed(service, "https://acme.files.zylker.com/x")
    assert not allowed(service, "https://a.b.files.zylker.com:8443/x")
    assert not allowed(service, "https://files.zylker.com:8443/x")
    assert not allowed(service, "http://uploads.zylker.com/x")


def test_a_hosts_placeholder_naming_a_dynamic_parameter_takes_the_connections_value() -> None:
    service = custom(
        base_url="https://{shop}.zylker.com",
        hosts=["https://cdn.{shop}.zylker.com"],
        dynamic_parameters=[{"key": "shop", "display_name": "Shop"}],
    )
    assert allowed(service, "https://cdn.acme.zylker.com/x", {"shop": "acme"})
    assert not allowed(service, "https://cdn.other.zylker.com/x", {"shop": "acme"})


@pytest.mark.parametrize(
    ("hosts", "rule"),
    [
        (["https://{x}.com"], "below a fixed domain"),
        (["https://{x}"], "dotted domain name"),
        (["https://api.{x}.zylker.com"], "whole labels at the start"),
        (["https://{x}-api.zylker.com"], "whole labels at the start"),
        (["https://api.zylker.com/v1"], "no path"),
        (["https://api.zylker.com?x=1"], "no path"),
        (["http://api.zylker.com"], "https"),
        (["https://u@api.zylker.com"], "user name"),
    ],
)
def test_a_hosts_entry_must_be_an_origin_below_a_named_domain(hosts: list[str], rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        custom(base_url="https://api.zylker.com", hosts=hosts)
    assert caught.value.field.startswith("hosts.0")
    assert rule in caught.value.rule


def test_a_custom_service_needs_a_base_url() -> None:
    with pytest.raises(ValidationError) as caught:
        custom()
    assert caught.value.field == "base_url"
    assert "required" in caught.value.rule


def test_a_stored_service_without_a_base_url_loads_but_sends_its_credential_nowhere() -> None:
    data = {"name": "Legacy", "link_name": "legacy", "auth_type": "basic"}
    service = parse_service(data, builtin=False, stored=True)
    assert not allowed(service, "https://anywhere.zylker.org/x")
    with pytest.raises(OutboundBlocked, match="give the service a base_url"):
        check_credential_target(service, {}, "https://anywhere.zylker.org/x")
