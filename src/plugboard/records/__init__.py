"""Public records: the one shape of each resource that leaves Plugboard.

The REST API answers with them (as response models), both clients return them, the CLI prints
them (`--json` is ``model_dump(mode="json")``) and the console's templates read them. One module
per family of resources; every record is importable from ``plugboard.records``.

No record has a field that could hold a secret, but one: ``TokenCreated.secret``, the new API
token answered once to its creator (and kept out of ``repr``). Light on purpose: pydantic and
the domain, never the store, the crypto or a web framework.
"""

from __future__ import annotations

from plugboard.records.audit import AuditEventPublic
from plugboard.records.consents import ConsentStarted, ConsentStatus
from plugboard.records.core import (
    AuthorizationListItem,
    AuthorizationPublic,
    ConnectionDetailsPublic,
    ConnectionEdited,
    ConnectionPublic,
    ReferencePublic,
    RevokeResult,
    ServiceChangeResult,
    ServiceClientPublic,
    ServicePublic,
)
from plugboard.records.identity import (
    InvitationPublic,
    MemberAdded,
    MemberPublic,
    MePublic,
    TokenCreated,
    TokenPublic,
    WorkspacePublic,
)
from plugboard.records.notifications import (
    JobInfo,
    MuteInfo,
    NotificationInfo,
    NotificationPage,
)

__all__ = [
    "AuditEventPublic",
    "AuthorizationListItem",
    "AuthorizationPublic",
    "ConnectionDetailsPublic",
    "ConnectionEdited",
    "ConnectionPublic",
    "ConsentStarted",
    "ConsentStatus",
    "InvitationPublic",
    "JobInfo",
    "MePublic",
    "MemberAdded",
    "MemberPublic",
    "MuteInfo",
    "NotificationInfo",
    "NotificationPage",
    "ReferencePublic",
    "RevokeResult",
    "ServiceChangeResult",
    "ServiceClientPublic",
    "ServicePublic",
    "TokenCreated",
    "TokenPublic",
    "WorkspacePublic",
]
