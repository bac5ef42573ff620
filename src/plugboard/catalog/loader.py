"""Load, cache and search the built-in service files shipped in ``plugboard/catalog/data``."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from plugboard.domain.service import ServiceDefinition, load_service_file
from plugboard.errors import NotFound, ValidationError

__all__ = [
    "SCHEMA_FILE",
    "builtin_services",
    "categories",
    "get_builtin",
    "load_catalog_dir",
    "search",
    "service_json_schema",
    "service_json_schema_text",
]

SCHEMA_FILE = "service.schema.json"


def _data_dir() -> Traversable:
    # importlib.resources rather than __file__, so the catalog also loads from a wheel or zip.
    return resources.files("plugboard.catalog").joinpath("data")


def load_catalog_dir(directory: Traversable) -> dict[str, ServiceDefinition]:
    """Every ``*.yaml`` file of ``directory`` as built-in services, keyed by link name.

    A file's name must be its link name, so a service is found by looking at the file list.
    Raises :class:`ValidationError` whose message starts with the offending file name.
    """
    services: dict[str, ServiceDefinition] = {}
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        try:
            service = load_service_file(entry.read_text(encoding="utf-8"), builtin=True)
        except ValidationError as exc:
            raise ValidationError(exc.field, exc.rule, f"{entry.name}: {exc.message}") from None
        if entry.name != f"{service.link_name}.yaml":
            raise ValidationError(
                "link_name",
                "must equal the file name without .yaml",
                f"{entry.name}: link_name {service.link_name!r} does not match the file name",
            )
        services[service.link_name] = service
    return services


@functools.cache
def _catalog() -> tuple[ServiceDefinition, ...]:
    return tuple(load_catalog_dir(_data_dir()).values())


def builtin_services() -> dict[str, ServiceDefinition]:
    """All built-in services by link name. The files are read once per process; the dict is a
    fresh copy each call and the definitions are frozen, so callers cannot alter the catalog."""
    return {s.link_name: s for s in _catalog()}


def get_builtin(link_name: str) -> ServiceDefinition:
    for service in _catalog():
        if service.link_name == link_name:
            return service
    raise NotFound("service", link_name)


def categories() -> list[str]:
    return sorted({s.category for s in _catalog()}, key=str.casefold)


def matches(service: ServiceDefinition, category: str | None, text: str | None) -> bool:
    """Whether ``service`` is in ``category`` (case-insensitive) and its name, link name or
    description contains ``text`` (case-insensitive). Empty filters match everything."""
    if category and service.category.casefold() != category.strip().casefold():
        return False
    needle = text.strip().casefold() if text else ""
    haystacks: Iterable[str] = (service.name, service.link_name, service.description)
    return not needle or any(needle in h.casefold() for h in haystacks)


def search(category: str | None = None, text: str | None = None) -> list[ServiceDefinition]:
    """Built-in services matching ``category`` and ``text`` (see :func:`matches`), by name."""
    found = [s for s in _catalog() if matches(s, category, text)]
    return sorted(found, key=lambda s: s.name.casefold())


def service_json_schema() -> dict[str, Any]:
    """The JSON Schema of a service file, for editors and for linting outside Python."""
    schema = ServiceDefinition.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def service_json_schema_text() -> str:
    """The schema exactly as committed in ``plugboard/catalog/service.schema.json``."""
    return json.dumps(service_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
