"""The built-in catalog: every shipped file, the SPEC §2/§4 list, search and the JSON Schema."""

from __future__ import annotations

import ipaddress
import json
import re
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from plugboard.catalog import builtin_services, categories, get_builtin, search
from plugboard.catalog.loader import (
    SCHEMA_FILE,
    load_catalog_dir,
    service_json_schema,
    service_json_schema_text,
)
from plugboard.domain.models import AuthType
from plugboard.domain.service import ServiceDefinition, load_service_file
from plugboard.errors import NotFound, ValidationError

DATA = resources.files("plugboard.catalog").joinpath("data")
FILES = sorted((e for e in DATA.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)

USER_LEVEL = {
    "quickbooks",
    "salesforce",
    "zoho_crm",
    "zoho_recruit",
    "clickatell",
    "hoiio",
    "clockwork_sms",
    "sms_magic",
    "twilio",
    "zoho_oauth",
    "zoho_projects",
    "zoho_sheet",
}
REQUIRED = USER_LEVEL | {
    "zoho_books",
    "dropbox",
    "google_sheets",
    "google_drive",
    "gmail",
    "slack",
    "github",
    "hubspot",
    "microsoft_graph",
    "stripe",
    "shopify",
    "mailchimp",
    "xero",
    "box",
    "asana",
    "jira_cloud",
    "notion",
    "airtable",
    "sendgrid",
    "aws_s3",
    "aws_sqs",
    "aws_dynamodb",
}


def sample_values(service: ServiceDefinition) -> dict[str, str]:
    return {p.key: p.default or "acme" for p in service.dynamic_parameters}


def test_catalog_has_at_least_35_services() -> None:
    assert len(builtin_services()) >= 35


def test_every_service_named_in_the_spec_is_built_in() -> None:
    assert REQUIRED <= set(builtin_services())


@pytest.mark.parametrize("entry", FILES, ids=lambda e: e.name)
def test_builtin_file_matches_the_service_schema(entry: Path) -> None:
    service = load_service_file(entry.read_text(encoding="utf-8"), builtin=True)
    assert isinstance(service, ServiceDefinition)


@pytest.mark.parametrize("entry", FILES, ids=lambda e: e.name)
def test_builtin_file_name_is_its_link_name(entry: Path) -> None:
    service = load_service_file(entry.read_text(encoding="utf-8"), builtin=True)
    assert entry.name == f"{service.link_name}.yaml"


@pytest.mark.parametrize("entry", FILES, ids=lambda e: e.name)
def test_builtin_file_starts_with_a_comment_naming_its_documentation(entry: Path) -> None:
    first = entry.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ")
    assert re.search(r"https?://[^\s]+\.[a-z]{2,}", first)


@pytest.mark.parametrize("entry", FILES, ids=lambda e: e.name)
def test_builtin_file_holds_no_client_credentials(entry: Path) -> None:
    text = entry.read_text(encoding="utf-8")
    for key in ("client_id:", "client_secret:", "consumer_key:", "consumer_secret:"):
        assert key not in text


@pytest.mark.parametrize("link_name", sorted(builtin_services()))
def test_every_builtin_url_is_https_with_a_real_host(link_name: str) -> None:
    service = get_builtin(link_name)
    values = sample_values(service)
    for path, template in service.templates():
        if path == "aws_sigv4.region":
            continue
        url = template
        for key, value in values.items():
            url = url.replace("{" + key + "}", value)
        parts = urlsplit(url)
        host = parts.hostname or ""
        assert parts.scheme == "https", (path, url)
        assert "." in host and not host.endswith("."), (path, url)
        assert host != "localhost" and not host.endswith(".localhost"), (path, url)
        assert not re.search(r"(^|\.)example\.(com|org|net)$", host), (path, url)
        with pytest.raises(ValueError):
            ipaddress.ip_address(host)


def test_exactly_the_twelve_spec_services_allow_user_level() -> None:
    allowed = {name for name, s in builtin_services().items() if s.allow_user_level}
    assert allowed == USER_LEVEL


def test_every_oauth2_service_describes_each_scope() -> None:
    for service in builtin_services().values():
        if service.oauth2 is not None:
            assert all(s.description.strip() for s in service.oauth2.scopes), service.link_name


def test_every_auth_type_is_represented_in_the_catalog() -> None:
    assert {s.auth_type for s in builtin_services().values()} == set(AuthType)


def test_aws_services_leave_the_region_to_the_connection() -> None:
    for link_name in ("aws_s3", "aws_sqs", "aws_dynamodb"):
        aws = get_builtin(link_name).aws_sigv4
        assert aws is not None
        assert aws.region == "{region}"


def test_shopify_asks_for_the_shop_domain() -> None:
    shopify = get_builtin("shopify")
    assert [p.key for p in shopify.dynamic_parameters] == ["shop"]
    assert shopify.resolve_dynamic_values({"shop": "zylker"}) == {"shop": "zylker"}


def test_salesforce_asks_for_the_org_domain() -> None:
    salesforce = get_builtin("salesforce")
    assert salesforce.oauth2 is not None
    assert "{domain}" in salesforce.oauth2.authorize_url


def test_zoho_services_default_to_the_us_data_centre() -> None:
    zoho = get_builtin("zoho_crm")
    assert zoho.resolve_dynamic_values({}) == {"dc": "com"}


def test_builtin_services_returns_a_fresh_mapping_each_time() -> None:
    first = builtin_services()
    first.pop("stripe")
    assert "stripe" in builtin_services()


def test_unknown_builtin_service_is_not_found() -> None:
    with pytest.raises(NotFound):
        get_builtin("no_such_service")


def test_search_by_text_is_case_insensitive_on_the_name() -> None:
    assert [s.link_name for s in search(text="DROPBOX")] == ["dropbox"]


def test_search_by_text_matches_the_description() -> None:
    assert "aws_dynamodb" in {s.link_name for s in search(text="x-amz-target")}


def test_search_by_category_is_case_insensitive() -> None:
    found = {s.link_name for s in search(category="sms")}
    assert {"twilio", "clickatell", "hoiio", "clockwork_sms", "sms_magic"} <= found
    assert all(s.category == "SMS" for s in search(category="sms"))


def test_search_combines_category_and_text() -> None:
    assert [s.link_name for s in search(category="Storage", text="google")] == ["google_drive"]


def test_search_without_filters_returns_everything_sorted_by_name() -> None:
    names = [s.name for s in search()]
    assert len(names) == len(builtin_services())
    assert names == sorted(names, key=str.casefold)


def test_categories_are_unique_and_sorted() -> None:
    found = categories()
    assert found == sorted(set(found), key=str.casefold)
    assert "CRM" in found


def test_committed_json_schema_equals_the_generated_one() -> None:
    committed = resources.files("plugboard.catalog").joinpath(SCHEMA_FILE).read_text("utf-8")
    assert committed == service_json_schema_text()


def test_json_schema_requires_the_core_fields() -> None:
    schema = service_json_schema()
    assert {"name", "link_name", "auth_type"} <= set(schema["required"])
    assert json.loads(service_json_schema_text()) == schema


def test_catalog_file_whose_name_differs_from_its_link_name_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "wrong.yaml").write_text(
        "name: Intranet\nlink_name: intranet\nauth_type: basic\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError) as info:
        load_catalog_dir(tmp_path)
    assert info.value.field == "link_name"
    assert info.value.message.startswith("wrong.yaml")


def test_invalid_catalog_file_is_reported_with_its_file_name(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: Bad\nlink_name: bad\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_catalog_dir(tmp_path)
    assert info.value.field == "auth_type"
    assert info.value.message.startswith("bad.yaml")
