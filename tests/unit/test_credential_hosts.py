from __future__ import annotations

import pytest

from plugboard.catalog.loader import builtin_services
from plugboard.domain.hosts import check_credential_target
from plugboard.domain.service import parse_service
from plugboard.errors import OutboundBlocked


@pytest.mark.parametrize(
    ("service", "values", "url"),
    [
        ("google_sheets", {}, "https://sheets.googleapis.com/v4/spreadsheets/x"),
        ("google_sheets", {}, "https://www.googleapis.com/drive/v3/files"),
        ("dropbox", {}, "https://content.dropboxapi.com/2/files/upload"),
        ("aws_s3", {"region": "eu-west-1"}, "https://bucket.s3.eu-west-1.amazonaws.com/key"),
        ("salesforce", {"domain": "zylker"}, "https://zylker.my.salesforce.com/services/data/v60"),
    ],
)
def test_a_credential_goes_to_its_services_hosts(
    service: str, values: dict[str, str], url: str
) -> None:
    check_credential_target(builtin_services()[service], values, url)


@pytest.mark.parametrize(
    ("service", "values", "url"),
    [
        ("github", {}, "https://collector.attacker.example/steal"),
        ("github", {}, "https://api.github.com.attacker.example/x"),
        ("slack", {}, "https://notslack.com/api"),
        ("aws_s3", {"region": "eu-west-1"}, "https://s3.attacker.example/x"),
    ],
)
def test_a_credential_is_refused_for_any_other_host(
    service: str, values: dict[str, str], url: str
) -> None:
    with pytest.raises(OutboundBlocked, match="not a host of service"):
        check_credential_target(builtin_services()[service], values, url)


def test_an_ip_address_base_stands_only_for_itself() -> None:
    service = parse_service(
        {"name": "Local", "link_name": "local", "base_url": "http://127.0.0.1:9000/api",
         "auth_type": "basic"},
        builtin=False,
        http_hosts=["127.0.0.1"],
    )  # fmt: skip
    check_credential_target(service, {}, "http://127.0.0.1:9000/api/x")
    with pytest.raises(OutboundBlocked):
        check_credential_target(service, {}, "http://127.0.0.2:9000/api/x")


def test_a_service_without_a_base_url_is_not_restricted() -> None:
    service = parse_service(
        {"name": "Loose", "link_name": "loose", "auth_type": "basic"}, builtin=False
    )
    check_credential_target(service, {}, "https://anywhere.example.org/x")
