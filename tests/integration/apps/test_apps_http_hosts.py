"""A package whose custom service lives on a host the operator allows over plain http
(PLUGBOARD_ALLOW_HTTP_HOSTS, a comma-separated list) installs and imports as it was created:
the allowance is read as its list of hosts, as creating the service read it. On SQLite and
PostgreSQL."""

from __future__ import annotations

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.usecases import identity
from plugboard.usecases.app_service import Apps
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.stack import Actor

LOCAL = """
name: Local sheets
link_name: local_sheets
base_url: http://127.0.0.1:9/api
auth_type: api_key
api_key:
  parameters:
    - {param_type: header, name: X-Api-Key, display_name: API key}
"""


def test_a_package_with_a_service_on_an_allowed_http_host_installs_and_imports(
    runtime: Runtime, members: Actor
) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"allow_http_hosts": "localhost, 127.0.0.1"}
    )
    dev = members("dev")
    with runtime.unit() as unit:
        create_custom_service(unit, dev, LOCAL, http_hosts=runtime.settings.allow_http_host_entries)
        identity.create_workspace(unit, OPERATOR, "initech", WorkspaceKind.DEVELOPER)
        identity.add_user(
            unit, OPERATOR, email="dev@initech.test", role=Role.DEVELOPER, workspace="initech"
        )
    Connections(runtime, dev).create(service="local_sheets", link_name="local_sheet")
    apps = Apps(runtime, dev)
    apps.create(name="Local")
    apps.put_component("local", kind="form", name="Entry", connections=["local_sheet"])
    apps.publish("local")
    package = apps.package("local")

    installed = Apps(runtime, members("admin", "globex")).install(package)
    imported = Apps(runtime, members("dev", "initech")).import_package(package)

    assert installed.services_created == ["local_sheets"] and installed.added == ["local_sheet"]
    assert imported.services_created == ["local_sheets"] and imported.added == ["local_sheet"]
