"""Records of apps, their components, versions, tokens, installs and connections panel."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from plugboard.domain.apps import App, AppToken, AppVersion, Component
from plugboard.domain.connections import Connection
from plugboard.domain.models import AuthorizationStatus, ConnectionLevel
from plugboard.records.core import ConnectionPublic

__all__ = [
    "AppConnectionPublic",
    "AppDetailsPublic",
    "AppPublic",
    "AppTokenIssued",
    "AppTokenPublic",
    "AppUserPublic",
    "AppVersionPublic",
    "ComponentPublic",
    "InstallReportPublic",
    "PanelAuthorizationPublic",
    "PanelEntryPublic",
    "SystemConnectionPublic",
]


class AppPublic(BaseModel):
    id: str
    link_name: str
    name: str
    version: int = Field(description="The newest stage version, or the installed one.")
    origin: str = Field(description="created, installed or imported")
    source: str | None = Field(description="Where an installed app came from.")
    created_at: datetime

    @classmethod
    def of(cls, a: App) -> AppPublic:
        return cls(
            id=a.id, link_name=a.link_name, name=a.name, version=a.version, origin=a.origin,
            source=a.source, created_at=a.created_at,
        )  # fmt: skip


class ComponentPublic(BaseModel):
    kind: str
    name: str
    environment: str
    connections: list[str]
    services: list[str] = Field(description="Services served by the workspace's system connection.")
    modified_at: datetime

    @classmethod
    def of(cls, c: Component) -> ComponentPublic:
        return cls(
            kind=c.kind.value, name=c.name, environment=c.environment.value,
            connections=list(c.uses.connections), services=list(c.uses.services),
            modified_at=c.modified_at,
        )  # fmt: skip


class AppConnectionPublic(BaseModel):
    """A connection an app's components use."""

    link_name: str
    name: str
    service: str
    level: ConnectionLevel

    @classmethod
    def of(cls, c: Connection) -> AppConnectionPublic:
        return cls(link_name=c.link_name, name=c.name, service=c.service_link_name, level=c.level)


class AppDetailsPublic(AppPublic):
    environment: str
    components: list[ComponentPublic]
    connections: list[AppConnectionPublic]


class AppUserPublic(BaseModel):
    """A member the app is granted to."""

    email: str
    name: str
    role: str
    granted_at: datetime


class AppVersionPublic(BaseModel):
    app: str
    number: int
    digest: str
    components: int
    connections: int
    created_at: datetime

    @classmethod
    def of(cls, app_link_name: str, v: AppVersion) -> AppVersionPublic:
        return cls(
            app=app_link_name, number=v.number, digest=v.digest,
            components=len(v.snapshot.get("components", [])),
            connections=len(v.snapshot.get("connections", [])),
            created_at=v.created_at,
        )  # fmt: skip


class AppTokenPublic(BaseModel):
    id: str
    app: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, app_link_name: str, t: AppToken) -> AppTokenPublic:
        return cls(
            id=t.id, app=app_link_name, name=t.name, prefix=t.prefix, created_at=t.created_at,
            revoked_at=t.revoked_at, last_used_at=t.last_used_at,
        )  # fmt: skip


class AppTokenIssued(AppTokenPublic):
    secret: str = Field(description="Shown once: Plugboard keeps only its hash.", repr=False)


class InstallReportPublic(BaseModel):
    app: AppPublic
    previous_version: int | None
    environment: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    needs_reauth: list[str]
    renamed: dict[str, str] = Field(description="Package link name -> the link name given here.")
    removed: list[str] = Field(description="No longer in the package; kept with their accounts.")
    services_created: list[str]


class PanelAuthorizationPublic(BaseModel):
    environment: str
    status: AuthorizationStatus
    account_name: str | None
    is_primary: bool


class PanelEntryPublic(BaseModel):
    """One row of an app's connections panel, for the viewer."""

    link_name: str
    name: str
    service: str
    service_name: str
    level: ConnectionLevel
    authorizations: list[PanelAuthorizationPublic]
    may_authorize: bool = Field(description="Whether the viewer gets the Authorize action.")
    who_must_act: str


class SystemConnectionPublic(BaseModel):
    connection: ConnectionPublic
    created: bool = Field(description="Made by this call (the first use of the service).")
    who_must_act: str
