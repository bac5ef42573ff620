"""Every error Plugboard raises on purpose, in one tree.

    PlugboardError
    ├── ConfigurationError         settings or environment are unusable
    │   └── MasterKeyMissing       no master key configured and no key file (fail closed)
    ├── CryptoError
    │   └── DecryptionFailed       wrong key, tampered, or moved to another row or column
    ├── StoreError
    │   ├── StoreUnavailable       the database cannot be reached
    │   └── StoreNotInitialized    the home or database was never set up by `plugboard init`
    ├── ValidationError            bad input: names the field and the rule it broke
    ├── NotFound                   no such object in the caller's workspace
    ├── AlreadyExists              a unique name is taken
    ├── Conflict                   the object's state forbids the operation (e.g. still referenced)
    ├── AuthenticationFailed       no principal, or a bad or revoked token
    ├── PermissionDenied           the principal's role does not allow the action
    ├── RateLimited                too many attempts: wait `retry_after` seconds
    ├── AuthorizationRequired      no usable authorization: says who must act
    ├── ServerUnreachable          the remote client cannot reach the Plugboard server
    └── OutboundError
        ├── OutboundBlocked        the target address is not allowed (SSRF guard)
        └── UpstreamError          the third-party service failed in a way we report

Each class has a stable ``code`` (used by the CLI's exit message and the API's problem+json
``type``). Messages never contain a secret: callers pass names, never values, of secret fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "AuthorizationRequired",
    "ConfigurationError",
    "Conflict",
    "CryptoError",
    "DecryptionFailed",
    "InvalidURL",
    "MasterKeyMissing",
    "NotFound",
    "OutboundBlocked",
    "OutboundError",
    "PermissionDenied",
    "RateLimited",
    "PlugboardError",
    "ServerUnreachable",
    "StoreError",
    "StoreNotInitialized",
    "StoreUnavailable",
    "UpstreamError",
    "ValidationError",
]


class PlugboardError(Exception):
    """Base of every deliberate Plugboard error."""

    code: ClassVar[str] = "plugboard_error"
    # The constructor's keyword arguments besides `message`: `to_dict` carries each of them and
    # `from_dict` passes them back, so an error crosses the REST API with every field intact.
    detail_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: safe to show to the caller, holds no secret."""
        fields = {name: getattr(self, name) for name in self.detail_fields}
        return {"code": self.code, "message": self.message, **fields}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The error `to_dict` described (KeyError when a field is missing)."""
        fields = {name: data[name] for name in cls.detail_fields}
        return cls(message=str(data["message"]), **fields)


class ConfigurationError(PlugboardError):
    code = "configuration_error"


class MasterKeyMissing(ConfigurationError):
    code = "master_key_missing"


class CryptoError(PlugboardError):
    code = "crypto_error"


class DecryptionFailed(CryptoError):
    code = "decryption_failed"


class StoreError(PlugboardError):
    code = "store_error"


class StoreUnavailable(StoreError):
    code = "store_unavailable"


class StoreNotInitialized(StoreError):
    code = "store_not_initialized"


class ValidationError(PlugboardError):
    """Bad input. ``field`` is the dotted name of the input, ``rule`` says what it must satisfy."""

    code = "validation_error"
    detail_fields = ("field", "rule")

    def __init__(self, field: str, rule: str, message: str | None = None) -> None:
        super().__init__(message or f"{field}: {rule}")
        self.field = field
        self.rule = rule


class InvalidURL(ValidationError):
    """A request URL that cannot be sent (control characters, too long, unparsable). The
    message names the field and the rule, never the URL (its query may hold a secret)."""

    code = "invalid_url"


class NotFound(PlugboardError):
    code = "not_found"
    detail_fields = ("kind", "key")

    def __init__(self, kind: str, key: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class AlreadyExists(PlugboardError):
    """A unique value is taken. Carries the field so callers can point at it."""

    code = "already_exists"
    detail_fields = ("kind", "field", "value")

    def __init__(self, kind: str, field: str, value: str, message: str | None = None) -> None:
        super().__init__(message or f"{field}: a {kind} with {field} {value!r} already exists")
        self.kind = kind
        self.field = field
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rule": "unique"}  # read like a validation error's


class Conflict(PlugboardError):
    code = "conflict"
    detail_fields = ("details",)

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})


class AuthenticationFailed(PlugboardError):
    code = "authentication_failed"


class PermissionDenied(PlugboardError):
    code = "permission_denied"
    detail_fields = ("action", "role")

    def __init__(self, action: str, role: str | None, message: str | None = None) -> None:
        who = f"role '{role}'" if role else "this principal"
        super().__init__(message or f"{who} may not {action}")
        self.action = action
        self.role = role


class RateLimited(PlugboardError):
    code = "rate_limited"
    detail_fields = ("retry_after",)

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthorizationRequired(PlugboardError):
    """No usable authorization for an invoke. ``who_must_act`` is a sentence for the caller."""

    code = "authorization_required"
    detail_fields = ("connection", "environment", "who_must_act", "reason")

    def __init__(
        self,
        connection: str,
        environment: str,
        who_must_act: str,
        reason: str = "",
        message: str | None = None,
    ) -> None:
        because = f" ({reason})" if reason else ""
        super().__init__(
            message
            or f"connection {connection!r} has no usable authorization in {environment}{because}: "
            f"{who_must_act}"
        )
        self.connection = connection
        self.environment = environment
        self.who_must_act = who_must_act
        self.reason = reason


class ServerUnreachable(PlugboardError):
    """Raised by the remote client only: the Plugboard server did not answer."""

    code = "server_unreachable"


class OutboundError(PlugboardError):
    code = "outbound_error"


class OutboundBlocked(OutboundError):
    code = "outbound_blocked"


class UpstreamError(OutboundError):
    code = "upstream_error"
