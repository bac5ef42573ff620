from __future__ import annotations

import pytest

from plugboard.domain.naming import (
    check_display_name,
    check_email,
    check_link_name,
    check_workspace_name,
    link_name_from,
    next_free_name,
)
from plugboard.errors import ValidationError


@pytest.mark.parametrize("name", ["a", "crm_sync", "z9", "a" + "b" * 49])
def test_valid_link_names_are_accepted(name: str) -> None:
    assert check_link_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "9crm", "_crm", "Crm", "crm-sync", "crm sync", "a" * 51, "crmé"]
)
def test_invalid_link_names_are_rejected_naming_field_and_rule(name: str) -> None:
    with pytest.raises(ValidationError) as raised:
        check_link_name(name, "link_name")
    assert raised.value.field == "link_name"
    assert "^[a-z][a-z0-9_]{0,49}$" in raised.value.rule


def test_display_name_longer_than_50_characters_is_rejected() -> None:
    with pytest.raises(ValidationError, match="1 to 50 characters"):
        check_display_name("x" * 51)


def test_blank_display_name_is_rejected() -> None:
    with pytest.raises(ValidationError):
        check_display_name("   ")


def test_workspace_names_allow_dashes_but_not_capitals() -> None:
    assert check_workspace_name("acme-prod") == "acme-prod"
    with pytest.raises(ValidationError):
        check_workspace_name("Acme")


def test_email_is_normalised_to_lower_case() -> None:
    assert check_email(" Ada@Example.COM ") == "ada@example.com"


def test_malformed_email_is_rejected() -> None:
    with pytest.raises(ValidationError, match="e-mail"):
        check_email("ada@localhost")


def test_link_name_is_derived_from_display_name() -> None:
    assert link_name_from("Zoho CRM Connection 2") == "zoho_crm_connection_2"
    assert link_name_from("Café  Orders!") == "cafe_orders"
    assert link_name_from("2 Way SMS").startswith("c_2_way_sms")


def test_next_free_name_counts_up_from_two() -> None:
    taken = ["Slack Connection", "Slack Connection 2"]
    assert next_free_name("Slack Connection", taken) == "Slack Connection 3"
    assert next_free_name("GitHub Connection", taken) == "GitHub Connection"
