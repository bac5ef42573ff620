"""The built-in services (SPEC §2): one YAML file per service in ``data/``, checked against
:class:`plugboard.domain.service.ServiceDefinition`. A new built-in service is a new file."""

from __future__ import annotations

from plugboard.catalog.loader import (
    builtin_services,
    categories,
    get_builtin,
    search,
    service_json_schema,
)

__all__ = ["builtin_services", "categories", "get_builtin", "search", "service_json_schema"]
