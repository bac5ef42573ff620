"""A datasource world over real HTTP: the service `recs` is the test provider's paged records
API (API key), with one module per pagination style and one with a config field; the app `crm`
of `dev@acme.test` uses the admin connection `records`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from plugboard.domain.credentials import ApiKeyCredential
from plugboard.domain.datasources import Sync
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.domain.service.modules import ServiceModule
from plugboard.testing.provider_state import DEMO_API_KEY
from plugboard.testing.server import ProviderServer
from plugboard.usecases import datasources, sync
from plugboard.usecases.apps import create_app
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.datasources import DatasourceView
from plugboard.usecases.invoke import Invoker
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.stack import Actor

# A module of records {"id", "v"} for the writer's tests, which build its pages themselves.
PEOPLE = ServiceModule.model_validate(
    {
        "name": "people",
        "display_name": "People",
        "path": "/records",
        "records": "results",
        "fields": ["id", "v"],
        "pagination": {"style": "cursor", "cursor_param": "after", "next_cursor": "next"},
    }
)


def records_service(provider_url: str, *, link: str = "recs", deprecated: str = "") -> str:
    modules = "\n".join(
        f"""  - name: {style}_list
    display_name: Records ({style})
    path: /records
    params: {{style: {style}}}
    {"records: " + records if records else ""}
    fields: [id, name, email, amount, version]
    pagination: {paging}"""
        for style, records, paging in (
            (
                "cursor",
                "results",
                "{style: cursor, page_size: 100, page_size_param: limit, "
                "cursor_param: after, next_cursor: paging.next.after}",
            ),
            (
                "offset",
                "records",
                "{style: offset, page_size: 100, page_size_param: limit, offset_param: offset}",
            ),
            (
                "page",
                "records",
                "{style: page, page_size: 100, page_size_param: per_page, "
                "page_param: page, has_more: info.more_records}",
            ),
            ("link", "", "{style: link, page_size: 100, page_size_param: per_page}"),
        )
    )
    return f"""
name: Records {link}
link_name: {link}
base_url: {provider_url}/api/apikey
auth_type: api_key
allow_user_level: true
{'deprecated: "' + deprecated + '"' if deprecated else ""}
api_key:
  parameters:
    - {{param_type: header, name: X-Api-Key, display_name: API key}}
modules:
{modules}
  - name: segment
    display_name: A segment
    path: /records
    params: {{style: "{{segment}}"}}
    records: results
    fields: [id, name]
    pagination: {{style: cursor, cursor_param: after, next_cursor: paging.next.after}}
    config_fields:
      - {{key: segment, display_name: Segment, pattern: '^[a-z]+$'}}
  - name: no_id
    display_name: Records without the declared id
    path: /records
    params: {{style: cursor}}
    records: results
    id_field: number
    fields: [id]
    pagination: {{style: cursor, cursor_param: after, next_cursor: paging.next.after}}
  - name: old
    display_name: Old list
    path: /records
    records: results
    fields: [id]
    pagination: {{style: cursor, cursor_param: after, next_cursor: paging.next.after}}
    deprecated: "replaced by cursor_list"
"""


@dataclass
class DsWorld:
    runtime: Runtime
    members: Actor
    provider: ProviderServer
    invoker: Invoker

    @property
    def dev(self) -> Principal:
        return self.members("dev")

    def connection(self, link: str = "records", *, service: str = "recs", authorize: bool = True,
                   level: str = "admin") -> None:  # fmt: skip
        from plugboard.domain.models import ConnectionLevel

        with self.runtime.unit() as unit:
            create_connection(unit, self.dev, service=service, link_name=link,
                              level=ConnectionLevel(level))  # fmt: skip
            if authorize:
                store_credential(
                    unit, OPERATOR, connection=link, workspace="acme",
                    credential=ApiKeyCredential({"X-Api-Key": DEMO_API_KEY}),
                    owner="root@acme.test" if level == "user" else None,
                )  # fmt: skip

    def datasource(self, name: str = "people", *, module: str = "cursor_list",
                   connection: str = "records", app: str = "crm") -> DatasourceView:  # fmt: skip
        with self.runtime.unit() as unit:
            return datasources.create_datasource(
                unit, self.dev, app, name=name, connection=connection, module=module
            )

    def request(self, actor: Principal, datasource_id: str, **kw: str) -> sync.SyncRequest:
        with self.runtime.unit() as unit:
            return sync.request_sync(unit, actor, datasource_id, **kw)

    def run(
        self, sync_id: str, *, progress: sync.Progress | None = None, slot_wait: float = 0.0
    ) -> Sync:
        return sync.run_sync(
            self.runtime, self.invoker, sync_id, progress=progress, slot_wait=slot_wait
        )

    def count(self, datasource_id: str) -> int:
        with self.runtime.unit(write=False) as unit:
            return unit.datasource_records.count(datasource_id)


@pytest.fixture
def ds(runtime: Runtime, members: Actor, provider: ProviderServer) -> Iterator[DsWorld]:
    runtime.settings = runtime.settings.model_copy(
        update={"allow_http_hosts": "127.0.0.1", "outbound_allowlist": "127.0.0.1"}
    )
    dev = members("dev")
    with runtime.unit() as unit:
        create_custom_service(unit, dev, records_service(provider.base_url),
                              http_hosts=["127.0.0.1"])  # fmt: skip
        create_app(unit, dev, name="CRM", link_name="crm")
    invoker = Invoker(runtime)
    world = DsWorld(runtime, members, provider, invoker)
    world.connection()
    try:
        yield world
    finally:
        invoker.close()
