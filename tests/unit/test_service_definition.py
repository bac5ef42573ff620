"""The service definition model: parsing, the error adapter, URLs, placeholders and secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from plugboard.domain.models import AuthType
from plugboard.domain.service import (
    ServiceDefinition,
    check_https_url,
    extract_account_name,
    load_service_file,
    parse_service,
)
from plugboard.errors import ValidationError

SECRET = "s3cr3t-value-never-shown"


def oauth2_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Acme CRM",
        "link_name": "acme_crm",
        "base_url": "https://api.acme-crm.io",
        "auth_type": "oauth2",
        "oauth2": {
            "client_id": "client-1",
            "client_secret": SECRET,
            "authorize_url": "https://auth.acme-crm.io/oauth/authorize",
            "token_url": "https://auth.acme-crm.io/oauth/token",
            "scopes": [
                {"name": "contacts.read", "description": "Read contacts"},
                {"name": "contacts.write", "description": "Write contacts"},
            ],
        },
    }
    data.update(changes)
    return data


def with_oauth2(**changes: Any) -> dict[str, Any]:
    data = oauth2_data()
    data["oauth2"] = {**data["oauth2"], **changes}
    return data


def rejected(data: dict[str, Any], *, builtin: bool = False) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_service(data, builtin=builtin)
    return info.value


# --- one valid example per auth type ---------------------------------------------------------


def test_custom_oauth2_service_parses() -> None:
    service = parse_service(oauth2_data(), builtin=False)
    assert service.auth_type is AuthType.OAUTH2
    assert service.oauth2 is not None
    assert [s.name for s in service.oauth2.scopes] == ["contacts.read", "contacts.write"]


def test_custom_api_key_service_parses() -> None:
    service = parse_service(
        {
            "name": "Weather",
            "link_name": "weather",
            "base_url": "https://api.weather.io",
            "auth_type": "api_key",
            "api_key": {
                "parameters": [{"param_type": "query", "name": "appid", "display_name": "Key"}]
            },
        },
        builtin=False,
    )
    assert service.api_key is not None
    assert service.api_key.parameters[0].name == "appid"


def test_custom_basic_service_needs_no_configuration_block() -> None:
    service = parse_service(
        {
            "name": "Intranet",
            "link_name": "intranet",
            "base_url": "https://api.intranet.io",
            "auth_type": "basic",
        },
        builtin=False,
    )
    assert service.basic is None


def test_custom_oauth1_service_parses() -> None:
    service = parse_service(
        {
            "name": "Boards",
            "link_name": "boards",
            "base_url": "https://api.boards.io",
            "auth_type": "oauth1",
            "oauth1": {
                "consumer_key": "ck",
                "consumer_secret": SECRET,
                "request_token_url": "https://boards.io/oauth/request",
                "authorize_url": "https://boards.io/oauth/authorize",
                "access_token_url": "https://boards.io/oauth/access",
            },
        },
        builtin=False,
    )
    assert service.oauth1 is not None
    assert service.oauth1.signature_method == "HMAC-SHA1"


def test_custom_aws_service_with_a_literal_region_parses() -> None:
    service = parse_service(
        {
            "name": "Queue",
            "link_name": "queue",
            "base_url": "https://api.queue.io",
            "auth_type": "aws_sigv4",
            "aws_sigv4": {"aws_service": "sqs", "region": "eu-west-1"},
        },
        builtin=False,
    )
    assert service.aws_sigv4 is not None
    assert service.aws_sigv4.region == "eu-west-1"


def test_api_key_prefix_keeps_its_trailing_space() -> None:
    params = [
        {
            "param_type": "header",
            "name": "Authorization",
            "display_name": "Key",
            "prefix": "Bearer ",
        }
    ]
    data = {
        "name": "W",
        "link_name": "w",
        "base_url": "https://api.w.io",
        "auth_type": "api_key",
        "api_key": {"parameters": params},
    }
    api_key = parse_service(data, builtin=False).api_key
    assert api_key is not None
    assert api_key.parameters[0].prefix == "Bearer "


def test_every_example_in_the_services_guide_parses() -> None:
    guide = Path(__file__).parents[2] / "docs" / "services.md"
    examples = re.findall(r"```yaml\n(.*?)```", guide.read_text(encoding="utf-8"), re.S)
    auth_types = {load_service_file(text, builtin=False).auth_type for text in examples}
    assert auth_types == set(AuthType)


# --- names -----------------------------------------------------------------------------------


def test_link_name_longer_than_50_characters_is_rejected() -> None:
    error = rejected(oauth2_data(link_name="a" * 51))
    assert error.field == "link_name"


def test_link_name_of_exactly_50_characters_is_accepted() -> None:
    assert parse_service(oauth2_data(link_name="a" * 50), builtin=False).link_name == "a" * 50


def test_link_name_starting_with_a_digit_is_rejected() -> None:
    assert rejected(oauth2_data(link_name="1crm")).field == "link_name"


def test_link_name_with_upper_case_is_rejected() -> None:
    assert rejected(oauth2_data(link_name="AcmeCrm")).field == "link_name"


def test_display_name_longer_than_50_characters_is_rejected() -> None:
    assert rejected(oauth2_data(name="x" * 51)).field == "name"


def test_empty_display_name_is_rejected() -> None:
    error = rejected(oauth2_data(name="   "))
    assert (error.field, error.rule) == ("name", "must not be empty")


# --- structure -------------------------------------------------------------------------------


def test_unknown_field_is_rejected_as_a_likely_typo() -> None:
    error = rejected(with_oauth2(scope_seperator=","))
    assert (error.field, error.rule) == ("oauth2.scope_seperator", "is not a known field")


def test_missing_configuration_block_for_the_auth_type_is_rejected() -> None:
    data = oauth2_data()
    del data["oauth2"]
    error = rejected(data)
    assert error.field == "oauth2"
    assert "required" in error.rule


def test_configuration_block_of_another_auth_type_is_rejected() -> None:
    data = oauth2_data(
        api_key={"parameters": [{"param_type": "query", "name": "k", "display_name": "K"}]}
    )
    assert rejected(data).field == "api_key"


def test_unknown_auth_type_is_rejected() -> None:
    assert rejected(oauth2_data(auth_type="digest")).field == "auth_type"


def test_api_key_service_without_parameters_is_rejected() -> None:
    data = {
        "name": "W",
        "link_name": "w",
        "base_url": "https://api.w.io",
        "auth_type": "api_key",
        "api_key": {"parameters": []},
    }
    assert rejected(data).field == "api_key.parameters"


def test_duplicate_api_key_parameter_names_are_rejected_at_the_duplicate() -> None:
    params = [
        {"param_type": "header", "name": "X-Key", "display_name": "Key"},
        {"param_type": "header", "name": "x-key", "display_name": "Key again"},
    ]
    data = {
        "name": "W",
        "link_name": "w",
        "base_url": "https://api.w.io",
        "auth_type": "api_key",
        "api_key": {"parameters": params},
    }
    error = rejected(data)
    assert (error.field, error.rule) == (
        "api_key.parameters.1.name",
        "parameter names must be unique",
    )


def test_api_key_parameter_name_with_a_newline_is_rejected() -> None:
    params = [{"param_type": "header", "name": "X-Key\r\nX-Evil", "display_name": "Key"}]
    data = {
        "name": "W",
        "link_name": "w",
        "base_url": "https://api.w.io",
        "auth_type": "api_key",
        "api_key": {"parameters": params},
    }
    assert rejected(data).field == "api_key.parameters.0.name"


def test_duplicate_scope_names_are_reported_with_the_scope_index() -> None:
    scopes = [
        {"name": "a", "description": "A"},
        {"name": "b", "description": "B"},
        {"name": "a", "description": "A again"},
    ]
    error = rejected(with_oauth2(scopes=scopes))
    assert error.field == "oauth2.scopes.2.name"
    assert error.rule == "scope names must be unique"


def test_scope_without_description_is_rejected() -> None:
    error = rejected(with_oauth2(scopes=[{"name": "a"}]))
    assert (error.field, error.rule) == ("oauth2.scopes.0.description", "is required")


def test_extra_authorize_params_may_not_override_the_state() -> None:
    error = rejected(with_oauth2(extra_authorize_params={"state": "fixed"}))
    assert error.field == "oauth2.extra_authorize_params.state"


def test_every_problem_is_listed_in_the_message() -> None:
    error = rejected(oauth2_data(name="", link_name="Bad"))
    assert "name:" in error.message
    assert "link_name:" in error.message


# --- URLs ------------------------------------------------------------------------------------


def test_plain_http_url_is_rejected() -> None:
    error = rejected(with_oauth2(authorize_url="http://auth.acme-crm.io/authorize"))
    assert (error.field, error.rule) == ("oauth2.authorize_url", "must be an https:// URL")


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/token",
        "https://127.0.0.1/token",
        "https://[::1]/token",
        "https://example.com/token",
        "https://api.example.org/token",
        "https://intranet/token",
        "https://service.internal/token",
    ],
)
def test_url_without_a_real_public_host_is_rejected(url: str) -> None:
    assert rejected(with_oauth2(token_url=url)).field == "oauth2.token_url"


def test_url_with_user_info_is_rejected() -> None:
    assert check_https_url("https://user:pw@auth.acme-crm.io/token") is not None


def test_placeholder_in_a_host_with_a_literal_domain_is_accepted() -> None:
    data = with_oauth2(authorize_url="https://{shop}.myshopify.com/admin/oauth/authorize")
    data["dynamic_parameters"] = [{"key": "shop", "display_name": "Shop"}]
    service = parse_service(data, builtin=False)
    assert service.oauth2 is not None


def test_host_made_only_of_a_placeholder_is_rejected() -> None:
    data = with_oauth2(authorize_url="https://{host}/authorize")
    data["dynamic_parameters"] = [{"key": "host", "display_name": "Host"}]
    assert rejected(data).field == "oauth2.authorize_url"


def test_undeclared_placeholder_is_rejected_at_the_url_using_it() -> None:
    error = rejected(with_oauth2(token_url="https://{tenant}.acme-crm.io/token"))
    assert error.field == "oauth2.token_url"
    assert "{tenant}" in error.rule


def test_malformed_placeholder_is_rejected() -> None:
    assert rejected(with_oauth2(token_url="https://auth.acme-crm.io/{bad key}")).field == (
        "oauth2.token_url"
    )


def test_refresh_url_defaults_to_the_token_url() -> None:
    service = parse_service(oauth2_data(), builtin=False)
    assert service.oauth2 is not None
    assert service.oauth2.effective_refresh_url == "https://auth.acme-crm.io/oauth/token"


# --- OAuth 2 token placement -----------------------------------------------------------------


def test_oauth2_token_goes_in_a_bearer_authorization_header_by_default() -> None:
    oauth2 = parse_service(oauth2_data(), builtin=False).oauth2
    assert oauth2 is not None
    assert (oauth2.effective_param_name, oauth2.effective_token_prefix) == (
        "Authorization",
        "Bearer ",
    )


def test_oauth2_query_param_type_defaults_to_access_token_without_prefix() -> None:
    oauth2 = parse_service(with_oauth2(param_type="query"), builtin=False).oauth2
    assert oauth2 is not None
    assert (oauth2.effective_param_name, oauth2.effective_token_prefix) == ("access_token", "")


def test_oauth2_custom_header_with_empty_prefix_sends_the_bare_token() -> None:
    data = with_oauth2(param_name="X-Shopify-Access-Token", token_prefix="")
    oauth2 = parse_service(data, builtin=False).oauth2
    assert oauth2 is not None
    assert (oauth2.effective_param_name, oauth2.effective_token_prefix) == (
        "X-Shopify-Access-Token",
        "",
    )


def test_expiry_signal_needs_both_the_status_and_the_body_pattern() -> None:
    data = with_oauth2(expiry_signals={"statuses": [200], "body_pattern": "token_expired"})
    oauth2 = parse_service(data, builtin=False).oauth2
    assert oauth2 is not None
    signals = oauth2.expiry_signals
    assert signals.matches(200, '{"ok": false, "error": "token_expired"}')
    assert not signals.matches(200, '{"ok": true}')
    assert signals.matches(401, "")
    assert not signals.matches(403, "token_expired")


def test_invalid_expiry_body_pattern_is_rejected() -> None:
    error = rejected(with_oauth2(expiry_signals={"statuses": [403], "body_pattern": "(("}))
    assert error.field == "oauth2.expiry_signals.body_pattern"


# --- built-in versus custom ------------------------------------------------------------------


def test_custom_oauth2_service_without_client_secret_is_rejected() -> None:
    data = oauth2_data()
    del data["oauth2"]["client_secret"]
    error = rejected(data)
    assert (error.field, error.rule) == ("oauth2.client_secret", "is required for a custom service")


def test_builtin_oauth2_service_may_leave_the_client_to_the_operator() -> None:
    data = oauth2_data()
    del data["oauth2"]["client_secret"]
    del data["oauth2"]["client_id"]
    service = parse_service(data, builtin=True)
    assert service.oauth2 is not None
    assert service.oauth2.client_id is None


def test_custom_oauth1_service_without_consumer_secret_is_rejected() -> None:
    data = {
        "name": "Boards",
        "link_name": "boards",
        "base_url": "https://api.boards.io",
        "auth_type": "oauth1",
        "oauth1": {
            "consumer_key": "ck",
            "request_token_url": "https://boards.io/oauth/request",
            "authorize_url": "https://boards.io/oauth/authorize",
            "access_token_url": "https://boards.io/oauth/access",
        },
    }
    assert rejected(data).field == "oauth1.consumer_secret"


def test_with_oauth_client_fills_in_the_operators_client() -> None:
    data = oauth2_data()
    del data["oauth2"]["client_secret"]
    del data["oauth2"]["client_id"]
    service = parse_service(data, builtin=True).with_oauth_client("op-id", "op-secret")
    assert service.oauth2 is not None
    assert service.oauth2.client_id == "op-id"
    assert service.oauth2.client_secret is not None
    assert service.oauth2.client_secret.get_secret_value() == "op-secret"


# --- secrets ---------------------------------------------------------------------------------


def test_client_secret_is_not_in_repr() -> None:
    service = parse_service(oauth2_data(), builtin=False)
    assert SECRET not in repr(service)
    assert SECRET not in str(service)


def test_client_secret_is_not_in_json_dump() -> None:
    service = parse_service(oauth2_data(), builtin=False)
    assert SECRET not in service.model_dump_json()


def test_client_secret_is_not_in_error_messages() -> None:
    error = rejected(with_oauth2(authorize_url="http://x", token_url=SECRET))
    assert SECRET not in error.message
    assert SECRET not in repr(error.to_dict())


def test_wrongly_typed_secret_is_not_echoed_in_the_error() -> None:
    error = rejected(with_oauth2(client_secret=["not", SECRET]))
    assert error.field == "oauth2.client_secret"
    assert SECRET not in error.message


def test_consumer_secret_is_not_in_repr() -> None:
    data = {
        "name": "Boards",
        "link_name": "boards",
        "base_url": "https://api.boards.io",
        "auth_type": "oauth1",
        "oauth1": {
            "consumer_key": "ck",
            "consumer_secret": SECRET,
            "request_token_url": "https://boards.io/oauth/request",
            "authorize_url": "https://boards.io/oauth/authorize",
            "access_token_url": "https://boards.io/oauth/access",
        },
    }
    assert SECRET not in repr(parse_service(data, builtin=False))


def test_to_data_leaves_secrets_out_unless_asked() -> None:
    service = parse_service(oauth2_data(), builtin=False)
    assert "client_secret" not in service.to_data()["oauth2"]
    assert service.to_data(reveal_secrets=True)["oauth2"]["client_secret"] == SECRET


def test_to_data_with_secrets_parses_back_to_an_equal_service() -> None:
    service = parse_service(oauth2_data(description="CRM"), builtin=False)
    again = parse_service(service.to_data(reveal_secrets=True), builtin=False)
    assert again == service


# --- YAML files ------------------------------------------------------------------------------


def test_yaml_syntax_error_is_reported_on_the_file() -> None:
    with pytest.raises(ValidationError) as info:
        load_service_file("name: [unclosed\nlink_name: x\n", builtin=False)
    assert info.value.field == "file"
    assert "line" in info.value.rule


def test_yaml_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        load_service_file("- just\n- a list\n", builtin=False)
    assert info.value.field == "file"


def test_yaml_service_file_loads() -> None:
    text = """
name: Intranet
link_name: intranet
base_url: https://intranet.corp.io
auth_type: basic
basic: {username_label: Employee number}
"""
    service = load_service_file(text, builtin=False)
    assert service.basic is not None
    assert service.basic.username_label == "Employee number"


# --- AWS -------------------------------------------------------------------------------------


def aws_data(region: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Queue",
        "link_name": "queue",
        "base_url": "https://api.queue.io",
        "auth_type": "aws_sigv4",
        "aws_sigv4": {"aws_service": "sqs", "region": region},
    }
    data.update(changes)
    return data


def test_aws_region_that_is_not_a_region_is_rejected() -> None:
    assert rejected(aws_data("Europe")).field == "aws_sigv4.region"


def test_aws_region_placeholder_must_be_a_declared_dynamic_parameter() -> None:
    assert rejected(aws_data("{region}")).field == "aws_sigv4.region"


def test_aws_region_placeholder_with_declared_parameter_is_accepted() -> None:
    params = [{"key": "region", "display_name": "Region", "default": "us-east-1"}]
    service = parse_service(aws_data("{region}", dynamic_parameters=params), builtin=False)
    assert service.resolve_dynamic_values({}) == {"region": "us-east-1"}


# --- dynamic parameters ----------------------------------------------------------------------


def with_dynamic(*params: dict[str, Any]) -> ServiceDefinition:
    data = oauth2_data(
        base_url="https://{shop}.myshopify.com/admin", dynamic_parameters=list(params)
    )
    return parse_service(data, builtin=False)


def test_dynamic_parameter_with_an_invalid_pattern_is_rejected() -> None:
    data = oauth2_data(dynamic_parameters=[{"key": "shop", "display_name": "Shop", "pattern": "["}])
    assert rejected(data).field == "dynamic_parameters.0.pattern"


def test_dynamic_parameter_default_must_match_its_pattern() -> None:
    param = {"key": "dc", "display_name": "DC", "pattern": "^(com|eu)$", "default": "org"}
    assert rejected(oauth2_data(dynamic_parameters=[param])).field == (
        "dynamic_parameters.0.default"
    )


def test_duplicate_dynamic_parameter_keys_are_rejected() -> None:
    params = [{"key": "shop", "display_name": "A"}, {"key": "shop", "display_name": "B"}]
    assert rejected(oauth2_data(dynamic_parameters=params)).field == "dynamic_parameters.1.key"


def test_required_dynamic_value_must_be_given() -> None:
    service = with_dynamic({"key": "shop", "display_name": "Shop"})
    with pytest.raises(ValidationError) as info:
        service.resolve_dynamic_values({})
    assert info.value.field == "dynamic_parameters.shop"


def test_dynamic_value_must_match_the_parameter_pattern() -> None:
    service = with_dynamic({"key": "shop", "display_name": "Shop", "pattern": "^[a-z]+$"})
    with pytest.raises(ValidationError):
        service.resolve_dynamic_values({"shop": "Zylker1"})


def test_dynamic_value_without_pattern_may_not_hold_url_syntax() -> None:
    service = with_dynamic({"key": "shop", "display_name": "Shop"})
    with pytest.raises(ValidationError):
        service.resolve_dynamic_values({"shop": "evil.io/x?"})


def test_value_for_an_undeclared_dynamic_parameter_is_rejected() -> None:
    service = with_dynamic({"key": "shop", "display_name": "Shop"})
    with pytest.raises(ValidationError) as info:
        service.resolve_dynamic_values({"shop": "zylker", "other": "x"})
    assert info.value.field == "dynamic_parameters.other"


def test_account_name_follows_a_dotted_path_through_lists() -> None:
    data = {"users": [{"email": "ann@zylker.io"}]}
    assert extract_account_name(data, "users.0.email") == "ann@zylker.io"


def test_account_name_is_none_when_the_path_is_missing() -> None:
    assert extract_account_name({"users": []}, "users.0.email") is None


def test_userinfo_account_name_without_url_is_rejected() -> None:
    data = oauth2_data(account_name={"source": "userinfo", "field": "email"})
    assert rejected(data).field == "account_name.url"


def test_token_response_account_name_needs_an_oauth_service() -> None:
    data = aws_data("eu-west-1", account_name={"source": "token_response", "field": "name"})
    assert rejected(data).field == "account_name.source"


def test_test_url_account_name_needs_a_test_url() -> None:
    data = aws_data("eu-west-1", account_name={"source": "test_url", "field": "name"})
    assert rejected(data).field == "account_name.source"
