"""The custom-service editing table of SPEC §2, rule by rule and auth type by auth type."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from plugboard.domain.models import AuthType
from plugboard.domain.service import (
    ApiKeyConfig,
    AwsSigV4Config,
    BasicConfig,
    OAuth1Config,
    OAuth2Config,
    ServiceDefinition,
    parse_service,
)
from plugboard.domain.service_edits import EDITING_TABLE, EditKind, check_service_edit
from plugboard.errors import ValidationError

SECRET = "edit-secret-never-shown"

BASE: dict[AuthType, dict[str, Any]] = {
    AuthType.BASIC: {
        "name": "Intranet",
        "link_name": "intranet",
        "base_url": "https://api.intranet.io",
        "auth_type": "basic",
    },
    AuthType.API_KEY: {
        "name": "Weather",
        "link_name": "weather",
        "base_url": "https://api.weather.io",
        "auth_type": "api_key",
        "api_key": {
            "parameters": [
                {"param_type": "query", "name": "appid", "display_name": "App ID"},
                {"param_type": "header", "name": "X-Key", "display_name": "Key"},
            ]
        },
    },
    AuthType.OAUTH1: {
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
    AuthType.OAUTH2: {
        "name": "Acme CRM",
        "link_name": "acme_crm",
        "base_url": "https://api.acme-crm.io",
        "auth_type": "oauth2",
        "oauth2": {
            "client_id": "client-1",
            "client_secret": SECRET,
            "authorize_url": "https://auth.acme-crm.io/authorize",
            "token_url": "https://auth.acme-crm.io/token",
            "revoke_url": "https://auth.acme-crm.io/revoke",
            "scopes": [
                {"name": "contacts.read", "description": "Read contacts"},
                {"name": "contacts.write", "description": "Write contacts"},
            ],
        },
    },
    AuthType.AWS_SIGV4: {
        "name": "Queue",
        "link_name": "queue",
        "base_url": "https://api.queue.io",
        "auth_type": "aws_sigv4",
        "aws_sigv4": {"aws_service": "sqs", "region": "eu-west-1"},
    },
}


def service(auth_type: AuthType, **changes: Any) -> ServiceDefinition:
    data = {**BASE[auth_type], **changes}
    return parse_service(data, builtin=False)


def block_changed(auth_type: AuthType, **changes: Any) -> ServiceDefinition:
    block = auth_type.value
    data = dict(BASE[auth_type])
    data[block] = {**data.get(block, {}), **changes}
    return parse_service(data, builtin=False)


def refused(old: ServiceDefinition, new: ServiceDefinition) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        check_service_edit(old, new)
    return info.value


# --- every auth type -------------------------------------------------------------------------


@pytest.mark.parametrize("auth_type", list(AuthType))
def test_service_name_is_editable(auth_type: AuthType) -> None:
    old = service(auth_type)
    assert check_service_edit(old, service(auth_type, name="Renamed")) == ["name"]


@pytest.mark.parametrize("auth_type", list(AuthType))
def test_link_name_is_never_editable(auth_type: AuthType) -> None:
    error = refused(service(auth_type), service(auth_type, link_name="renamed"))
    assert error.field == "link_name"
    assert "never" in error.rule


@pytest.mark.parametrize("auth_type", list(AuthType))
def test_auth_type_is_never_editable(auth_type: AuthType) -> None:
    other = AuthType.BASIC if auth_type is not AuthType.BASIC else AuthType.AWS_SIGV4
    new = service(other, link_name=BASE[auth_type]["link_name"])
    error = refused(service(auth_type), new)
    assert error.field == "auth_type"


@pytest.mark.parametrize("auth_type", list(AuthType))
def test_unchanged_service_has_no_changed_fields(auth_type: AuthType) -> None:
    assert check_service_edit(service(auth_type), service(auth_type)) == []


@pytest.mark.parametrize("auth_type", list(AuthType))
def test_every_model_field_has_an_editing_rule(auth_type: AuthType) -> None:
    blocks = {"api_key", "basic", "oauth1", "oauth2", "aws_sigv4"}
    expected = {f for f in ServiceDefinition.model_fields if f not in blocks}
    configs: dict[AuthType, type[BaseModel]] = {
        AuthType.API_KEY: ApiKeyConfig,
        AuthType.BASIC: BasicConfig,
        AuthType.OAUTH1: OAuth1Config,
        AuthType.OAUTH2: OAuth2Config,
        AuthType.AWS_SIGV4: AwsSigV4Config,
    }
    config = configs[auth_type]
    expected |= {f"{auth_type.value}.{f}" for f in config.model_fields}
    assert set(EDITING_TABLE[auth_type]) == expected


def test_spec_never_editable_fields_are_marked_never() -> None:
    for auth_type, rules in EDITING_TABLE.items():
        assert rules["link_name"].kind is EditKind.NEVER, auth_type
        assert rules["auth_type"].kind is EditKind.NEVER, auth_type
    assert EDITING_TABLE[AuthType.OAUTH2]["oauth2.grant_type"].kind is EditKind.NEVER


# --- fields the SPEC table leaves open (docs/services.md) ------------------------------------


def test_description_and_category_are_editable() -> None:
    old = service(AuthType.BASIC)
    new = service(AuthType.BASIC, description="Staff portal", category="Internal")
    assert check_service_edit(old, new) == ["category", "description"]


def test_base_url_is_not_editable() -> None:
    old = service(AuthType.OAUTH1)
    error = refused(old, service(AuthType.OAUTH1, base_url="https://api2.boards.io"))
    assert error.field == "base_url"


def test_user_level_may_be_allowed_later() -> None:
    old = service(AuthType.BASIC)
    assert check_service_edit(old, service(AuthType.BASIC, allow_user_level=True)) == [
        "allow_user_level"
    ]


def test_user_level_may_not_be_disallowed_later() -> None:
    old = service(AuthType.BASIC, allow_user_level=True)
    error = refused(old, service(AuthType.BASIC, allow_user_level=False))
    assert error.field == "allow_user_level"


DC = {"key": "dc", "display_name": "Data centre", "pattern": "^(com|eu)$", "default": "com"}


def test_optional_dynamic_parameter_may_be_added() -> None:
    old = service(AuthType.BASIC)
    new = service(AuthType.BASIC, dynamic_parameters=[DC])
    assert check_service_edit(old, new) == ["dynamic_parameters"]


def test_required_dynamic_parameter_without_default_may_not_be_added() -> None:
    old = service(AuthType.BASIC)
    new = service(AuthType.BASIC, dynamic_parameters=[{"key": "shop", "display_name": "Shop"}])
    assert refused(old, new).field == "dynamic_parameters"


def test_dynamic_parameter_may_not_be_deleted() -> None:
    old = service(AuthType.BASIC, dynamic_parameters=[DC])
    assert refused(old, service(AuthType.BASIC)).field == "dynamic_parameters"


def test_dynamic_parameter_pattern_may_not_change() -> None:
    old = service(AuthType.BASIC, dynamic_parameters=[DC])
    new = service(AuthType.BASIC, dynamic_parameters=[{**DC, "pattern": "^(com|eu|in)$"}])
    assert refused(old, new).field == "dynamic_parameters"


def test_dynamic_parameter_display_name_may_change() -> None:
    old = service(AuthType.BASIC, dynamic_parameters=[DC])
    new = service(AuthType.BASIC, dynamic_parameters=[{**DC, "display_name": "Region"}])
    assert check_service_edit(old, new) == ["dynamic_parameters"]


# --- Basic -----------------------------------------------------------------------------------


def test_basic_form_labels_are_editable() -> None:
    old = service(AuthType.BASIC)
    new = service(AuthType.BASIC, basic={"username_label": "Account SID"})
    assert check_service_edit(old, new) == ["basic.username_label"]


# --- API key ---------------------------------------------------------------------------------


def params(*items: dict[str, str]) -> dict[str, Any]:
    return {"parameters": list(items)}


APPID = {"param_type": "query", "name": "appid", "display_name": "App ID"}
XKEY = {"param_type": "header", "name": "X-Key", "display_name": "Key"}


def test_api_key_parameter_may_be_added() -> None:
    extra = {"param_type": "form", "name": "token", "display_name": "Token"}
    new = service(AuthType.API_KEY, api_key=params(APPID, XKEY, extra))
    assert check_service_edit(service(AuthType.API_KEY), new) == ["api_key.parameters"]


def test_api_key_parameter_param_type_is_editable() -> None:
    new = service(AuthType.API_KEY, api_key=params({**APPID, "param_type": "header"}, XKEY))
    assert check_service_edit(service(AuthType.API_KEY), new) == ["api_key.parameters"]


def test_existing_api_key_parameter_may_be_edited() -> None:
    new = service(AuthType.API_KEY, api_key=params(APPID, {**XKEY, "name": "X-Api-Key"}))
    assert check_service_edit(service(AuthType.API_KEY), new) == ["api_key.parameters"]


def test_api_key_parameter_may_not_be_deleted() -> None:
    new = service(AuthType.API_KEY, api_key=params(APPID))
    error = refused(service(AuthType.API_KEY), new)
    assert error.field == "api_key.parameters"
    assert "not deleted" in error.rule


# --- OAuth 1 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("consumer_key", "ck2"),
        ("consumer_secret", "another-secret"),
        ("request_token_url", "https://boards.io/oauth2/request"),
        ("authorize_url", "https://boards.io/oauth2/authorize"),
        ("access_token_url", "https://boards.io/oauth2/access"),
        ("param_type", "query"),
    ],
)
def test_oauth1_editable_field(field: str, value: str) -> None:
    new = block_changed(AuthType.OAUTH1, **{field: value})
    assert check_service_edit(service(AuthType.OAUTH1), new) == [f"oauth1.{field}"]


def test_oauth1_signature_method_is_not_editable() -> None:
    old = service(AuthType.OAUTH1)
    assert old.oauth1 is not None
    # Only HMAC-SHA1 validates today, so build the changed value without validation.
    changed = old.oauth1.model_copy(update={"signature_method": "RSA-SHA1"})
    error = refused(old, old.model_copy(update={"oauth1": changed}))
    assert error.field == "oauth1.signature_method"


# --- OAuth 2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_id", "client-2"),
        ("client_secret", "another-secret"),
        ("authorize_url", "https://login.acme-crm.io/authorize"),
        ("token_url", "https://login.acme-crm.io/token"),
        ("refresh_url", "https://login.acme-crm.io/refresh"),
        ("param_type", "query"),
        ("token_endpoint_auth_method", "client_secret_basic"),
    ],
)
def test_oauth2_editable_field(field: str, value: str) -> None:
    new = block_changed(AuthType.OAUTH2, **{field: value})
    assert check_service_edit(service(AuthType.OAUTH2), new) == [f"oauth2.{field}"]


READ = {"name": "contacts.read", "description": "Read contacts"}
WRITE = {"name": "contacts.write", "description": "Write contacts"}


def test_oauth2_scope_may_be_added() -> None:
    new = block_changed(
        AuthType.OAUTH2, scopes=[READ, WRITE, {"name": "deals.read", "description": "Deals"}]
    )
    assert check_service_edit(service(AuthType.OAUTH2), new) == ["oauth2.scopes"]


def test_oauth2_scope_may_not_be_deleted() -> None:
    error = refused(service(AuthType.OAUTH2), block_changed(AuthType.OAUTH2, scopes=[READ]))
    assert error.field == "oauth2.scopes"
    assert (
        error.rule == "existing scopes may not be edited or deleted; only new scopes may be added"
    )


def test_oauth2_scope_may_not_be_edited() -> None:
    new = block_changed(AuthType.OAUTH2, scopes=[READ, {**WRITE, "description": "Changed"}])
    assert refused(service(AuthType.OAUTH2), new).field == "oauth2.scopes"


def test_oauth2_grant_type_is_never_editable() -> None:
    old = service(AuthType.OAUTH2)
    assert old.oauth2 is not None
    changed = old.oauth2.model_copy(update={"grant_type": "client_credentials"})
    error = refused(old, old.model_copy(update={"oauth2": changed}))
    assert error.field == "oauth2.grant_type"
    assert "never" in error.rule


def test_oauth2_revoke_url_is_not_editable() -> None:
    new = block_changed(AuthType.OAUTH2, revoke_url="https://auth.acme-crm.io/revoke2")
    assert refused(service(AuthType.OAUTH2), new).field == "oauth2.revoke_url"


def test_oauth2_pkce_is_not_editable() -> None:
    new = block_changed(AuthType.OAUTH2, pkce=False)
    assert refused(service(AuthType.OAUTH2), new).field == "oauth2.pkce"


def test_refused_oauth2_edit_does_not_show_the_secret() -> None:
    new = block_changed(AuthType.OAUTH2, pkce=False)
    error = refused(service(AuthType.OAUTH2), new)
    assert SECRET not in error.message


# --- AWS SigV4 -------------------------------------------------------------------------------


def test_aws_service_is_editable() -> None:
    new = block_changed(AuthType.AWS_SIGV4, aws_service="sns")
    assert check_service_edit(service(AuthType.AWS_SIGV4), new) == ["aws_sigv4.aws_service"]


def test_aws_region_is_editable() -> None:
    new = block_changed(AuthType.AWS_SIGV4, region="us-east-1")
    assert check_service_edit(service(AuthType.AWS_SIGV4), new) == ["aws_sigv4.region"]


def test_aws_session_token_setting_is_not_editable() -> None:
    new = block_changed(AuthType.AWS_SIGV4, session_token="required")
    assert refused(service(AuthType.AWS_SIGV4), new).field == "aws_sigv4.session_token"


def test_hosts_are_not_editable() -> None:
    old = service(AuthType.BASIC)
    error = refused(old, service(AuthType.BASIC, hosts=["https://evil.intranet.io"]))
    assert error.field == "hosts"


def test_a_stored_service_without_a_base_url_may_be_given_one() -> None:
    legacy = {k: v for k, v in BASE[AuthType.BASIC].items() if k != "base_url"}
    old = parse_service(legacy, builtin=False, stored=True)
    assert check_service_edit(old, service(AuthType.BASIC)) == ["base_url"]


# --- datasource modules (SPEC §8): used by name, so a name is never removed ----------------------

MODULE = {
    "name": "deals",
    "display_name": "Deals",
    "path": "/deals",
    "records": "results",
    "fields": ["id", "title"],
    "pagination": {"style": "page", "page_param": "page"},
}


def test_a_module_may_be_edited_and_modules_added() -> None:
    old = service(AuthType.API_KEY, modules=[MODULE])
    new = service(
        AuthType.API_KEY,
        modules=[{**MODULE, "display_name": "All deals"}, {**MODULE, "name": "notes"}],
    )

    assert check_service_edit(old, new) == ["modules"]


def test_a_module_datasources_use_is_never_removed_or_renamed() -> None:
    old = service(AuthType.API_KEY, modules=[MODULE])
    renamed = service(AuthType.API_KEY, modules=[{**MODULE, "name": "opportunities"}])

    with pytest.raises(ValidationError) as refused:
        check_service_edit(old, renamed)

    assert refused.value.field == "modules"
    assert "datasources use them by name" in refused.value.rule
