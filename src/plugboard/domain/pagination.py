"""Which request fetches a module's next page (SPEC §8): the four pagination styles of
:class:`plugboard.domain.service.modules.Pagination`, as pure functions of the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from plugboard.domain.datasources import KeptRecord, at_path, next_link
from plugboard.domain.service.fields import _BRACES
from plugboard.domain.service.modules import ServiceModule
from plugboard.errors import ValidationError

MAX_PAGES = 100_000  # a safety stop for a service whose cursor never ends


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page's request: ``url`` is a path below the service's base URL (``{dynamic}``
    placeholders left for invoke) or, following a Link header, a full URL."""

    number: int
    url: str
    params: dict[str, str] = field(default_factory=dict)


def fill(template: str, config: Mapping[str, str], *, in_path: bool) -> str:
    """``{key}`` of the datasource's config replaced (percent-encoded in a path, so a value
    cannot add a path segment or a placeholder); other placeholders are the connection's."""

    def value(match: Any) -> str:
        key = match.group(1)
        if key not in config:
            return str(match.group(0))
        return quote(config[key], safe="") if in_path else config[key]

    return _BRACES.sub(value, template)


def first_page(module: ServiceModule, config: Mapping[str, str]) -> PageRequest:
    paging = module.pagination
    params = {name: fill(v, config, in_path=False) for name, v in module.params.items()}
    if paging.page_size_param:
        params[paging.page_size_param] = str(paging.page_size)
    if paging.style == "offset" and paging.offset_param:
        params[paging.offset_param] = "0"
    if paging.style == "page" and paging.page_param:
        params[paging.page_param] = str(paging.first_page)
    return PageRequest(1, fill(module.path, config, in_path=True), params)


def next_page(
    module: ServiceModule,
    current: PageRequest,
    body: Any,
    link_header: str | None,
    records: Sequence[KeptRecord],
) -> PageRequest | None:
    """The request of the page after ``current``, or None when it was the last one."""
    paging = module.pagination
    if not records:
        return None
    if current.number >= MAX_PAGES:
        raise ValidationError("pagination", f"stopped after {MAX_PAGES} pages")
    if paging.has_more is not None and not at_path(body, paging.has_more):
        return None
    number = current.number + 1
    if paging.style == "link":
        target = next_link(link_header)
        return None if target is None else PageRequest(number, target, {})
    params = dict(current.params)
    if paging.style == "cursor":
        assert paging.cursor_param is not None
        if paging.next_cursor is not None:
            cursor = at_path(body, paging.next_cursor)
        else:
            cursor = records[-1].record_id
        if cursor is None or cursor == "" or isinstance(cursor, dict | list | bool):
            return None
        if params.get(paging.cursor_param) == str(cursor):
            raise ValidationError("pagination", f"page {current.number} repeats its cursor")
        params[paging.cursor_param] = str(cursor)
        return PageRequest(number, current.url, params)
    if paging.has_more is None and len(records) < paging.page_size:
        return None
    if paging.style == "offset":
        assert paging.offset_param is not None
        params[paging.offset_param] = str(int(params[paging.offset_param]) + len(records))
    else:
        assert paging.page_param is not None
        params[paging.page_param] = str(int(params[paging.page_param]) + 1)
    return PageRequest(number, current.url, params)
