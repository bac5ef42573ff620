"""The apps endpoints of the API permission matrix (tests/integration/test_api_matrix.py): a seeded
app in each workspace kind, and one case per endpoint with the action the matrix names.

`acme` (developer) builds the app `sales`; `globex` (client) installs it from the developer
workspace `lab`. Each world has an app token of `sales`, a second token to revoke, the app
`back_office` nobody was granted, and the next version's package file. Every case makes its own
target when it changes one, so all the cases of one member run on one seeded world.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

from plugboard.domain.credentials import ApiKeyCredential
from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.permissions import APP_TOKEN_ACTIONS, MATRIX, Action
from plugboard.domain.principal import OPERATOR
from plugboard.testing.provider_state import DEMO_API_KEY
from plugboard.usecases import identity
from plugboard.usecases.app_service import Apps
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.datasource_service import Datasources
from plugboard.usecases.services import create_custom_service
from tests.integration.datasources.conftest import records_service
from tests.stack import World, key_service

APP = "sales"
OTHER_APP = "back_office"
# The datasources of `sales` and their modules (the records service of the datasource tests).
DATASOURCES = {"Deals": "cursor_list", "Segment": "segment", "Spare": "cursor_list"}


@dataclass
class AppWorld:
    """A `World` with the apps seeded."""

    world: World
    app_token: str = ""  # the secret of a token of `sales`
    spare_token_id: str = ""  # another token of `sales`, for the revoke case
    next_package: bytes = b""  # `sales` one version ahead of what the workspace has
    datasource_id: str = ""  # the datasource `Deals` of `sales`
    sync_id: str = ""  # a sync of it, queued
    counter: list[int] = field(default_factory=lambda: [0])

    @property
    def workspace(self) -> str:
        return self.world.workspace

    def fresh(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"


def _build(apps: Apps, conns: Connections) -> None:
    """`sales` (a form on the admin connection a_keys, a workflow using the service twilio, a
    page to delete, datasource components Deals, Segment and Spare on a_recs) with a_spare
    enabled for it, and `back_office`."""
    conns.create(service="ksvc", link_name="a_keys")
    conns.create(service="ksvc", link_name="a_spare")
    conns.create(service="dsvc", link_name="a_recs")
    apps.create(name="Sales")
    apps.create(name="Back office")
    apps.put_component(APP, kind="form", name="Listing", connections=["a_keys"])
    for name in DATASOURCES:
        apps.put_component(APP, kind="datasource", name=name, connections=["a_recs"])
    apps.put_component(APP, kind="workflow", name="Sync", services=["twilio"])
    apps.put_component(APP, kind="page", name="Scratch")
    apps.put_component(OTHER_APP, kind="page", name="Home")
    apps.enable_access(APP, "a_spare")


def seed_apps(world: World) -> AppWorld:
    runtime, ws = world.runtime, world.workspace
    kind = WorkspaceKind.DEVELOPER if ws == "acme" else WorkspaceKind.CLIENT
    hosts = ["127.0.0.1"]
    if kind is WorkspaceKind.DEVELOPER:
        builder_ws = ws
    else:
        builder_ws = "lab"
        with runtime.unit() as unit:
            identity.create_workspace(unit, OPERATOR, "lab", WorkspaceKind.DEVELOPER)
            create_custom_service(unit, OPERATOR, key_service(world.provider_url),
                                  workspace="lab", http_hosts=hosts)  # fmt: skip
    with runtime.unit() as unit:
        create_custom_service(unit, OPERATOR, records_service(world.provider_url, link="dsvc"),
                              workspace=builder_ws, http_hosts=hosts)  # fmt: skip
    built = Apps(runtime, OPERATOR, builder_ws)
    _build(built, Connections(runtime, OPERATOR, builder_ws))
    built.publish(APP)
    built.publish(OTHER_APP)
    here = Apps(runtime, OPERATOR, ws)
    if kind is WorkspaceKind.CLIENT:
        here.install(built.package(APP))
        here.install(built.package(OTHER_APP))
    built.put_component(APP, kind="form", name="Quote", connections=["a_keys"])
    built.publish(APP)
    with runtime.unit() as unit:
        for link in ("a_keys", "a_recs"):
            store_credential(
                unit, OPERATOR, connection=link, workspace=ws,
                credential=ApiKeyCredential({"X-Api-Key": DEMO_API_KEY}), account_name="Shared",
            )  # fmt: skip
    here.grant(APP, f"user@{ws}.test")
    token = here.create_token(APP, name="matrix")
    spare = here.create_token(APP, name="spare")
    sources = Datasources(runtime, OPERATOR, ws)
    made = {
        name: sources.create(APP, name=name, connection="a_recs", module=module)
        for name, module in DATASOURCES.items()
    }
    asked = sources.sync(made["Deals"].id)
    return AppWorld(
        world, token.secret, spare.id, built.package(APP), made["Deals"].id, asked.sync.id
    )


Send = Callable[[TestClient, AppWorld, str], Any]
# Managing a datasource: any of building, installing or granting apps (usecases/datasources.py).
MANAGE_DATASOURCES = (Action.INSTALL_APPS, Action.GRANT_APPS)


@dataclass(frozen=True)
class AppCase:
    id: str
    send: Send
    action: Action | Mapping[WorkspaceKind, Action]
    granted_only: bool = False  # a `user` not granted the app gets 404
    hidden_from_users: bool = False  # refused to a `user` as 404 (the object is hidden)
    other_app: bool = False  # not the app token's own app: 404 for it
    also: tuple[Action, ...] = ()  # further actions, any of which allows it

    def action_in(self, kind: WorkspaceKind) -> Action:
        return self.action if isinstance(self.action, Action) else self.action[kind]

    def expected(self, role: Role | None, kind: WorkspaceKind) -> set[int] | None:
        """None: allowed; otherwise the refusal statuses. ``role`` None is the app token."""
        actions = (self.action_in(kind), *self.also)
        if role is None:
            allowed = any(a in APP_TOKEN_ACTIONS for a in actions) and not self.other_app
            return None if allowed else {403, 404}
        if not any(role in MATRIX[a][kind] for a in actions):
            return {403, 404} if self.hidden_from_users and role is Role.USER else {403}
        if self.granted_only and role is Role.USER:
            return {404}
        return None


def _package(c: TestClient, w: AppWorld, path: str) -> Any:
    return c.post(path, content=w.next_package, headers={"Content-Type": "application/json"})


A = f"/api/v1/apps/{APP}"

APP_CASES = [
    AppCase("list apps", lambda c, w, n: c.get("/api/v1/apps"), Action.VIEW_APPS),
    AppCase("show app", lambda c, w, n: c.get(A), Action.VIEW_APPS),
    AppCase(
        "show an app not granted",
        lambda c, w, n: c.get(f"/api/v1/apps/{OTHER_APP}"),
        Action.VIEW_APPS,
        granted_only=True,
        other_app=True,
    ),  # fmt: skip
    AppCase("app panel", lambda c, w, n: c.get(f"{A}/panel"), Action.VIEW_APPS),
    AppCase("app versions", lambda c, w, n: c.get(f"{A}/versions"), Action.VIEW_APPS),
    AppCase(
        "create app",
        lambda c, w, n: c.post("/api/v1/apps", json={"name": w.fresh("New ")}),
        Action.MANAGE_APPS,
    ),  # fmt: skip
    AppCase("rename app", lambda c, w, n: c.patch(A, json={"name": "Sales 2"}), Action.MANAGE_APPS),
    AppCase(
        "put component",
        lambda c, w, n: c.put(
            f"{A}/components/form/{w.fresh('F')}", json={"connections": ["a_keys"]}
        ),
        Action.MANAGE_APPS,
    ),  # fmt: skip
    AppCase(
        "delete component",
        lambda c, w, n: c.delete(f"{A}/components/page/Scratch"),
        Action.MANAGE_APPS,
    ),  # fmt: skip
    AppCase("enable app access", lambda c, w, n: c.put(f"{A}/access/c_fresh"), Action.MANAGE_APPS),
    AppCase(
        "disable app access", lambda c, w, n: c.delete(f"{A}/access/a_spare"), Action.MANAGE_APPS
    ),  # fmt: skip
    AppCase("list app users", lambda c, w, n: c.get(f"{A}/users"), Action.GRANT_APPS),
    AppCase(
        "grant app", lambda c, w, n: c.put(f"{A}/users/dev2@{w.workspace}.test"), Action.GRANT_APPS
    ),  # fmt: skip
    AppCase(
        "ungrant app",
        lambda c, w, n: c.delete(f"{A}/users/dev2@{w.workspace}.test"),
        Action.GRANT_APPS,
    ),  # fmt: skip
    AppCase("publish", lambda c, w, n: c.post(f"{A}/publish"), Action.PUBLISH_APPS),
    AppCase("package file", lambda c, w, n: c.get(f"{A}/package"), Action.PUBLISH_APPS),
    AppCase(
        "install package",
        lambda c, w, n: _package(c, w, "/api/v1/packages/install"),
        Action.INSTALL_APPS,
    ),  # fmt: skip
    AppCase(
        "import package",
        lambda c, w, n: _package(c, w, "/api/v1/packages/import"),
        Action.INSTALL_APPS,
    ),  # fmt: skip
    AppCase(
        "create app token", lambda c, w, n: c.post(f"{A}/tokens", json={}), Action.MANAGE_APP_TOKENS
    ),  # fmt: skip
    AppCase("list app tokens", lambda c, w, n: c.get(f"{A}/tokens"), Action.MANAGE_APP_TOKENS),
    AppCase(
        "revoke app token",
        lambda c, w, n: c.delete(f"{A}/tokens/{w.spare_token_id}"),
        Action.MANAGE_APP_TOKENS,
    ),  # fmt: skip
    AppCase(
        "system connection",
        lambda c, w, n: c.put(f"{A}/system-connections/twilio"),
        Action.USE_SYSTEM_CONNECTIONS,
    ),  # fmt: skip
    AppCase(
        "invoke the app's connection",
        lambda c, w, n: c.post("/api/v1/invoke", json={"connection": "a_keys", "url": "/ping"}),
        Action.INVOKE_SHARED,
        hidden_from_users=True,
    ),  # fmt: skip
    # Datasources (docs/datasources.md): whoever builds, installs or grants apps manages them;
    # every member who may see the app (and its own app token) lists them, asks for a sync and
    # reads the records.
    AppCase("list datasources", lambda c, w, n: c.get(f"{A}/datasources"), Action.VIEW_APPS),
    AppCase("show datasource", lambda c, w, n: c.get(f"{A}/datasources/Deals"), Action.VIEW_APPS),
    AppCase(
        "create datasource",
        lambda c, w, n: c.post(
            f"{A}/datasources",
            json={"name": w.fresh("Ds"), "connection": "a_recs", "module": "cursor_list"},
        ),
        # In development it writes the datasource component: building the app, which a
        # developer workspace's admin may not (the other datasource writes they may).
        {WorkspaceKind.DEVELOPER: Action.MANAGE_APPS, WorkspaceKind.CLIENT: Action.INSTALL_APPS},
    ),  # fmt: skip
    AppCase(
        "configure datasource",
        lambda c, w, n: c.put(
            f"{A}/datasources/Segment/config", json={"values": {"segment": "north"}}
        ),
        Action.MANAGE_APPS,
        also=MANAGE_DATASOURCES,
    ),  # fmt: skip
    AppCase(
        "disable datasource",
        lambda c, w, n: c.post(f"{A}/datasources/Spare/disable"),
        Action.MANAGE_APPS,
        also=MANAGE_DATASOURCES,
    ),  # fmt: skip
    AppCase(
        "enable datasource",
        lambda c, w, n: c.post(f"{A}/datasources/Spare/enable"),
        Action.MANAGE_APPS,
        also=MANAGE_DATASOURCES,
    ),  # fmt: skip
    AppCase(
        "sync datasource",
        lambda c, w, n: c.post(f"/api/v1/datasources/{w.datasource_id}/syncs", json={}),
        Action.VIEW_APPS,
    ),  # fmt: skip
    AppCase("show sync", lambda c, w, n: c.get(f"/api/v1/syncs/{w.sync_id}"), Action.VIEW_APPS),
    AppCase(
        "datasource records",
        lambda c, w, n: c.get(f"/api/v1/datasources/{w.datasource_id}/records"),
        Action.VIEW_APPS,
    ),  # fmt: skip
    AppCase(
        "delete datasource",
        lambda c, w, n: c.delete(f"{A}/datasources/Spare"),
        Action.MANAGE_APPS,
        also=MANAGE_DATASOURCES,
    ),  # fmt: skip
    # last: it removes what "show an app not granted" reads
    AppCase(
        "delete app",
        lambda c, w, n: c.delete(f"/api/v1/apps/{OTHER_APP}"),
        {WorkspaceKind.DEVELOPER: Action.MANAGE_APPS, WorkspaceKind.CLIENT: Action.INSTALL_APPS},
        other_app=True,
    ),  # fmt: skip
]
