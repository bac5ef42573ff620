"""Modules of a service (SPEC §8): the lists a datasource can sync, declared as data.

A module names a list endpoint of the service's API (``path`` below the base URL, with fixed
query ``params``), where the records are in its JSON answer (``records``, a dotted path; none
when the answer is the list itself), each record's id (``id_field``), the fields Plugboard keeps
(``fields``) and how the pages follow each other (``pagination``). ``config_fields`` are the
values a datasource is configured with; they fill ``{key}`` placeholders in the path and the
params. A new module is a change of the service file, not of code.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Annotated, Literal

from pydantic import Field, model_validator

from plugboard.domain.naming import LINK_NAME_PATTERN
from plugboard.domain.service.fields import (
    PLACEHOLDER_KEY_PATTERN,
    DisplayName,
    ParamName,
    Regex,
    _check_placeholder_syntax,
    _fail,
    _Model,
    placeholders_in,
)

JSON_PATH_PATTERN = r"^[^.\s]+(\.[^.\s]+)*$"
JsonPath = Annotated[str, Field(min_length=1, max_length=200, pattern=JSON_PATH_PATTERN)]
PaginationStyle = Literal["cursor", "offset", "page", "link"]

# Which settings each style reads; any other one set is a mistake in the file.
_STYLE_SETTINGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # style: (required, allowed besides page_size and page_size_param)
    "cursor": (frozenset({"cursor_param"}), frozenset({"cursor_param", "next_cursor", "has_more"})),
    "offset": (frozenset({"offset_param"}), frozenset({"offset_param", "has_more"})),
    "page": (frozenset({"page_param"}), frozenset({"page_param", "first_page", "has_more"})),
    "link": (frozenset(), frozenset()),
}
_OPTIONAL = ("cursor_param", "next_cursor", "has_more", "offset_param", "page_param")


class Pagination(_Model):
    """How one page leads to the next.

    - ``cursor``: the next page is asked with ``cursor_param`` set to ``next_cursor`` read from
      the answer (HubSpot ``paging.next.after``) or, without ``next_cursor``, to the id of the
      page's last record (Stripe ``starting_after``); it ends when there is no cursor, when
      ``has_more`` is false, or on an empty page.
    - ``offset``: ``offset_param`` counts the records already read (0, page_size, …).
    - ``page``: ``page_param`` counts pages from ``first_page``.
      Offset and page end when ``has_more`` is false or a page is shorter than ``page_size``.
    - ``link``: the answer's ``Link: <…>; rel="next"`` header is the next page (RFC 8288;
      GitHub, Shopify); it ends when there is none.
    """

    style: PaginationStyle
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    page_size_param: ParamName | None = None
    cursor_param: ParamName | None = None
    next_cursor: JsonPath | None = None
    has_more: JsonPath | None = None
    offset_param: ParamName | None = None
    page_param: ParamName | None = None
    first_page: Annotated[int, Field(ge=0, le=1)] = 1

    @model_validator(mode="after")
    def _settings_of_style(self) -> Pagination:
        required, allowed = _STYLE_SETTINGS[self.style]
        for name in sorted(required):
            if getattr(self, name) is None:
                raise _fail(name, f"is required with style {self.style}")
        for name in _OPTIONAL:
            if getattr(self, name) is not None and name not in allowed:
                raise _fail(name, f"is not used with style {self.style}")
        if self.first_page != 1 and self.style != "page":
            raise _fail("first_page", f"is not used with style {self.style}")
        return self


class ConfigField(_Model):
    """A value a datasource is configured with (configure, later reconfigure)."""

    key: Annotated[str, Field(pattern=PLACEHOLDER_KEY_PATTERN)]
    display_name: DisplayName
    description: Annotated[str, Field(max_length=500)] = ""
    required: bool = True
    pattern: Regex | None = None
    default: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class ServiceModule(_Model):
    name: Annotated[str, Field(pattern=LINK_NAME_PATTERN)]
    display_name: DisplayName
    description: Annotated[str, Field(max_length=500)] = ""
    path: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^/[^\s?#]*$")]
    params: Annotated[
        dict[ParamName, Annotated[str, Field(max_length=500)]], Field(max_length=20)
    ] = {}
    records: JsonPath | None = None
    id_field: JsonPath = "id"
    fields: Annotated[list[JsonPath], Field(min_length=1, max_length=200)]
    pagination: Pagination
    config_fields: Annotated[list[ConfigField], Field(max_length=20)] = []
    # Why this module should no longer be used; a deprecated module cannot be configured.
    deprecated: Annotated[str, Field(min_length=1, max_length=300)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ServiceModule:
        keys = [f.key for f in self.config_fields]
        if len(set(keys)) != len(keys):
            raise _fail("config_fields", "keys must be unique")
        if len(set(self.fields)) != len(self.fields):
            raise _fail("fields", "must not list a field twice")
        for path, template in self.templates():
            problem = _check_placeholder_syntax(template)
            if problem:
                raise _fail(path, problem)
        if self.pagination.style == "cursor" and self.pagination.next_cursor is None:
            # The cursor is then the last record's id, which must be kept to be known.
            if self.id_field not in self.fields:
                raise _fail("fields", "must keep the id_field when the cursor is the last id")
        return self

    def templates(self) -> Iterator[tuple[str, str]]:
        """Every (field path, value) that may hold ``{key}`` placeholders."""
        yield "path", self.path
        for name, value in self.params.items():
            yield f"params.{name}", value

    @property
    def required_keys(self) -> list[str]:
        return [f.key for f in self.config_fields if f.required and f.default is None]


def check_modules(modules: list[ServiceModule], dynamic_keys: Collection[str]) -> None:
    """Rules across a service's modules and its dynamic parameters: unique names; each
    placeholder is a config field or a dynamic parameter (filled by invoke), never both."""
    names: set[str] = set()
    for i, module in enumerate(modules):
        if module.name in names:
            raise _fail(f"modules.{i}.name", "module names must be unique")
        names.add(module.name)
        config = {f.key for f in module.config_fields}
        for j, field in enumerate(module.config_fields):
            if field.key in dynamic_keys:
                raise _fail(
                    f"modules.{i}.config_fields.{j}.key",
                    "is a dynamic parameter of the service; pick another key",
                )
        for path, template in module.templates():
            for key in placeholders_in(template):
                if key not in config and key not in dynamic_keys:
                    raise _fail(
                        f"modules.{i}.{path}",
                        f"uses {{{key}}}, which is neither a config field nor a dynamic parameter",
                    )
