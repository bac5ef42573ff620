"""The package file (SPEC §6 "Package"): what publishing writes and installing reads.

A package is JSON: a format version, the app, its components, the definitions of its admin and
user-level connections, the custom services they need (with the OAuth client's public id but
never its secret: the receiving workspace registers the secret itself with
`plugboard services set-client`), and a SHA-256 digest of everything else.
It never carries a credential or a system connection; installing refuses one that does, and one
whose digest or format does not hold, before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from plugboard.domain.models import ComponentType, ConnectionLevel
from plugboard.domain.naming import LINK_NAME_PATTERN
from plugboard.errors import ValidationError

FORMAT = "plugboard.package/1"
MAX_PACKAGE_BYTES = 5 * 1024 * 1024

# Keys that name a credential or a client secret. A package has no business holding any of them,
# at any depth; the check names where one was found, never its value.
_CREDENTIAL_KEYS = frozenset(
    {
        "access_key", "access_key_id", "access_token", "api_key", "apikey", "client_secret",
        "consumer_key", "consumer_secret", "credential", "credentials", "id_token", "password",
        "private_key", "refresh_token", "secret", "secret_access_key", "secret_key",
        "session_token", "token", "token_secret", "username", "client_id",
    }
)  # fmt: skip
# In a service definition the same words name configuration blocks (`api_key` is the API-key
# block); there only the OAuth client's secrets are refused (its id is public), and the service
# parser refuses any field it does not know when the package is installed.
_SERVICE_SECRET_FIELDS = (("oauth2", "client_secret"), ("oauth1", "consumer_secret"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackageApp(_Strict):
    link_name: str = Field(pattern=LINK_NAME_PATTERN)
    name: str = Field(min_length=1, max_length=50)
    version: int = Field(ge=1)
    source: str = Field(min_length=1, max_length=200)  # "<workspace>/<app link name>"


class PackageComponent(_Strict):
    kind: ComponentType
    name: str = Field(min_length=1, max_length=100)
    connections: list[str] = []
    services: list[str] = []


class PackageConnection(_Strict):
    link_name: str = Field(pattern=LINK_NAME_PATTERN)
    name: str = Field(min_length=1, max_length=50)
    service: str = Field(pattern=LINK_NAME_PATTERN)
    level: Literal["admin", "user"]  # never system: those are found or made where installed
    per_environment: bool = False
    scopes: list[str] = []
    all_scopes: bool = False
    params: dict[str, str] = {}


class PackageContent(_Strict):
    format: Literal["plugboard.package/1"]
    app: PackageApp
    components: list[PackageComponent]
    connections: list[PackageConnection]
    services: list[dict[str, Any]] = []  # custom service definitions, parsed when installed


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """The bytes the digest covers: sorted keys, no insignificant white space, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(content: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(content)).hexdigest()


def write_package(content: Mapping[str, Any]) -> bytes:
    """The package file for ``content`` (checked first): the content plus its digest."""
    checked = check_content(dict(content))
    data = checked.model_dump(mode="json")
    document = {**data, "digest": digest_of(data)}
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def read_package(raw: bytes) -> PackageContent:
    """Verify a package file and return its content. Raises ValidationError naming the field
    and the rule: not JSON, digest missing or wrong, a credential or system connection inside,
    or a format this Plugboard does not read."""
    if len(raw) > MAX_PACKAGE_BYTES:
        raise ValidationError("package", f"must be at most {MAX_PACKAGE_BYTES} bytes")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError(
            "package", "must be a JSON package file written by Plugboard"
        ) from None
    if not isinstance(document, dict):
        raise ValidationError("package", "must be a JSON object")
    stated = document.pop("digest", None)
    if not isinstance(stated, str):
        raise ValidationError("digest", "is missing: the package cannot be verified")
    if stated != digest_of(document):
        raise ValidationError(
            "digest", "does not match the package's contents: the file was changed or damaged"
        )
    return check_content(document)


def check_content(document: dict[str, Any]) -> PackageContent:
    """The content's rules, digest aside: no credential anywhere, no system connection, the
    format, and every link name a component uses defined in the package."""
    for path in _credential_paths({k: v for k, v in document.items() if k != "services"}, ""):
        raise ValidationError(path, "a package never carries a credential or client secret")
    for path in _service_secret_paths(document.get("services")):
        raise ValidationError(path, "a package never carries an OAuth client secret")
    for i, connection in enumerate(document.get("connections") or []):
        if isinstance(connection, dict) and connection.get("level") == ConnectionLevel.SYSTEM:
            raise ValidationError(
                f"connections[{i}].level",
                "a package never carries a system connection: it is found or created in the "
                "workspace that runs the app",
            )
    if document.get("format") != FORMAT:
        raise ValidationError("format", f"must be {FORMAT!r}")
    try:
        content = PackageContent.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(where or "package", str(first["msg"]).lower()) from None
    defined = {c.link_name for c in content.connections}
    if len(defined) != len(content.connections):
        raise ValidationError("connections", "must not define a link name twice")
    for i, component in enumerate(content.components):
        for j, link in enumerate(component.connections):
            if link not in defined:
                raise ValidationError(
                    f"components[{i}].connections[{j}]",
                    f"{link!r} is not a connection defined in the package",
                )
    return content


def _credential_paths(value: object, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower() in _CREDENTIAL_KEYS:
                yield here
            yield from _credential_paths(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _credential_paths(item, f"{path}[{i}]")


def _service_secret_paths(services: object) -> Iterator[str]:
    if not isinstance(services, list):
        return
    for i, service in enumerate(services):
        if not isinstance(service, dict):
            continue
        for block, field in _SERVICE_SECRET_FIELDS:
            section = service.get(block)
            if isinstance(section, dict) and field in section:
                yield f"services[{i}].{block}.{field}"


def service_for_package(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A custom service's definition as a package carries it: without the OAuth client's
    secret, which each receiving workspace registers for itself (`plugboard services
    set-client`)."""
    data = json.loads(json.dumps(definition))
    for block, field in _SERVICE_SECRET_FIELDS:
        section = data.get(block)
        if isinstance(section, dict):
            section.pop(field, None)
    return dict(data)
