"""The reference's own story of an app and its connections (issue 11, "Done when"), end to end
over real HTTP on 127.0.0.1: Plugboard serving, the bundled test provider beside it checking
every credential for real, people and app code calling the REST API. On SQLite and PostgreSQL.

A developer at acme builds "Property sales": an admin connection to a books-like service (every
user's sales invoices go to one company ledger) and a logged-in-user connection to a
sheets-like service (each user's own sheet). They authorize both in development, publish to
stage, package the app and hand it to globex, a client. There the admin registers globex's own
OAuth client, authorizes the ledger in production, the super admin authorizes the sheet first
(the primary account) and two users authorize their own. The app's token then runs the app for
each user and the provider answers with that user's account. A workflow's service gets one
system connection however many first uses race for it. Version 2 (one more scope, one more
component) keeps every authorization, and importing the app back into acme makes `_copy`
connections that the copy's components use.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx2
import yaml

from plugboard.domain.packages import read_package
from plugboard.testing.provider_state.records import Account
from plugboard.usecases import identity
from tests.stack import Stack

APP = "property_sales"


class Story:
    """The stack as the story's people use it. Every answer anyone gets is kept, so the story
    can check that an app token's secret is never answered again after it was issued."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.answers: list[str] = []
        self.issued: dict[str, int] = {}  # app token secret -> answers before it was issued

    def _keep(self, response: httpx2.Response) -> None:
        response.read()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.answers.append(f"{response.url}\n{headers}\n\n{response.text}")

    def _client(self, token: str | None = None, **options: Any) -> httpx2.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx2.Client(
            headers=headers, timeout=10, event_hooks={"response": [self._keep]}, **options
        )
        self.stack.clients.append(client)
        return client

    def member(self, name: str, workspace: str = "acme") -> httpx2.Client:
        """`<name>@<workspace>.test` with an API token of their own (set-up: no cheap REST path
        to a first token)."""
        with self.stack.runtime.unit() as unit:
            principal = self.stack.members(name, workspace)
            issued = identity.create_token(unit, principal, name="story")
        return self._client(issued.secret, base_url=f"{self.stack.base_url}/api/v1")

    def app_token(self, builder: httpx2.Client, app: str, name: str) -> str:
        issued = ok(builder.post(f"/apps/{app}/tokens", json={"name": name}), 201)
        assert issued["secret"].startswith("pba_")
        self.issued[issued["secret"]] = len(self.answers)
        return str(issued["secret"])

    def as_app(self, secret: str) -> httpx2.Client:
        return self._client(secret, base_url=f"{self.stack.base_url}/api/v1")

    def proxy(self, secret: str) -> httpx2.Client:
        return self._client(secret, base_url=f"{self.stack.base_url}/proxy")

    def browser(self) -> httpx2.Client:
        """Follows the provider's redirect back to Plugboard's callback, as a browser would."""
        return self._client(follow_redirects=True)

    def account(self, sub: str) -> Account:
        return Account(sub, sub.replace("-", " ").title(), f"{sub}@provider.test", sub)

    def consent(self, member: httpx2.Client, link: str, sub: str, **body: Any) -> dict[str, Any]:
        """The consent dance: the member starts it in Plugboard, approves at the provider as
        the account `sub`, lands on Plugboard's callback; the flow must say completed."""
        self.stack.provider.state.next_account = self.account(sub)
        started = ok(member.post(f"/connections/{link}/consents", json=body), 201)
        page = self.browser().get(started["authorize_url"])
        assert page.status_code == 200 and "Connected" in page.text, page.text
        flow: dict[str, Any] = ok(member.get(f"/consents/{started['flow_id']}"))
        assert flow["state"] == "completed", flow
        return flow

    def service(self, name: str, link: str) -> dict[str, Any]:
        """An OAuth 2 custom service pointing at the provider (its client registered there)."""
        definition = yaml.safe_load(self.stack.oauth2_service(link))
        return {**definition, "name": name}


def ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def provider_saw(answer: httpx2.Response) -> dict[str, Any]:
    """What the provider's API received, from an /invoke answer: `account` is the subject of
    the access token it checked, `scope` what that token grants."""
    result = ok(answer)
    assert result["status"] == 200, result
    return dict(json.loads(result["text"]))


def invoke(app: httpx2.Client, link: str, path: str, **body: Any) -> httpx2.Response:
    return app.post("/invoke", json={"connection": link, "url": f"/api/oauth2/{path}", **body})


def statuses(member: httpx2.Client, link: str) -> list[tuple[str, str | None, str, bool]]:
    """(environment, owner e-mail, status, primary) of every authorization of `link`."""
    items = ok(member.get(f"/connections/{link}/authorizations"))["items"]
    return sorted((a["environment"], a.get("owner_email"), a["status"], a["is_primary"])
                  for a in items)  # fmt: skip


def references(member: httpx2.Client, link: str) -> list[tuple[str, str, str, str]]:
    items = ok(member.get(f"/connections/{link}/references"))["items"]
    return sorted((r["app"], r["component_type"], r["component_name"], r["environment"])
                  for r in items)  # fmt: skip


def test_property_sales_from_the_developer_to_two_client_users(stack: Stack) -> None:
    # Each invoke reads the store the story just changed (by default a resolution is reused
    # for up to invoke_cache_seconds, which bounds how late a change made elsewhere is seen).
    stack.runtime.settings = stack.runtime.settings.model_copy(update={"invoke_cache_seconds": 0.0})
    story = Story(stack)
    package_v1 = developer_builds_and_publishes(story)
    token = client_installs_and_authorizes(story, package_v1)
    system_connection_is_made_once(story, token)
    package_v2 = developer_publishes_version_2(story)
    update_keeps_every_authorization(story, package_v2, token)
    import_makes_copies(story, package_v2)

    for secret, issued_at in story.issued.items():
        assert secret in story.answers[issued_at - 1]  # the answer that issued it, and only it
        leaked = [a.split("\n", 1)[0] for a in story.answers[issued_at:] if secret in a]
        assert leaked == [], f"an app token's secret was answered again by {leaked}"


# -- acme: development and stage --------------------------------------------------------------


def developer_builds_and_publishes(story: Story) -> bytes:
    dev, root = story.member("dev"), story.member("root")
    books, sheets = story.service("Books", "books"), story.service("Sheets", "sheets")
    ok(dev.post("/services", json=books), 201)
    ok(dev.post("/services", json=sheets), 201)
    ok(dev.post("/connections", json={
        "service": "books", "link_name": "books_ledger", "name": "Books ledger",
        "scopes": ["read"],
    }), 201)  # fmt: skip
    ok(dev.post("/connections", json={
        "service": "sheets", "link_name": "team_sheet", "name": "Team sheet", "level": "user",
        "scopes": ["read"],
    }), 201)  # fmt: skip
    ok(dev.post("/apps", json={"name": "Property sales"}), 201)
    ok(dev.put(f"/apps/{APP}/components/form/Listing", json={"connections": ["books_ledger"]}))
    sync = {"connections": ["team_sheet"], "services": ["twilio"]}
    ok(dev.put(f"/apps/{APP}/components/workflow/Sync", json=sync))

    # Development: the developer links the company ledger; the sheet is user level, so the
    # super admin authorizes first (the primary account), then the developer their own.
    story.consent(dev, "books_ledger", "acme-books")
    story.consent(root, "team_sheet", "acme-root-sheet")
    story.consent(dev, "team_sheet", "acme-dev-sheet")
    assert statuses(dev, "books_ledger")[0][2] == "connected"

    app = story.as_app(story.app_token(dev, APP, "development"))
    as_dev = {"as_user": "dev@acme.test", "environment": "development"}
    assert provider_saw(invoke(app, "team_sheet", "sheet", **as_dev))["account"] == "acme-dev-sheet"
    assert (
        provider_saw(invoke(app, "books_ledger", "invoices", **as_dev))["account"] == "acme-books"
    )
    made = app.put(f"/apps/{APP}/system-connections/twilio")  # the workflow runs once
    assert made.status_code == 201, made.text
    system_link = made.json()["connection"]["link_name"]

    version = ok(dev.post(f"/apps/{APP}/publish"), 201)
    assert version["number"] == 1
    # One authorization serves development, stage and production here: stage runs as tested.
    as_dev_in_stage = {**as_dev, "environment": "stage"}
    saw = provider_saw(invoke(app, "team_sheet", "sheet", **as_dev_in_stage))
    assert saw["account"] == "acme-dev-sheet"

    answer = dev.get(f"/apps/{APP}/package")
    assert answer.status_code == 200, answer.text
    package = answer.content
    content = read_package(package)
    assert [(c.link_name, c.level) for c in content.connections] == [
        ("books_ledger", "admin"), ("team_sheet", "user"),
    ]  # fmt: skip
    assert system_link not in package.decode()  # system connections are never bundled
    for secret in (books["oauth2"]["client_secret"], sheets["oauth2"]["client_secret"]):
        assert secret not in package.decode()
    return package


# -- globex: install, authorize in production, run for each user ------------------------------


def client_installs_and_authorizes(story: Story, package: bytes) -> str:
    admin, root = story.member("admin", "globex"), story.member("root", "globex")
    user = story.member("user", "globex")

    report = ok(admin.post("/packages/install", content=package))
    assert (report["app"]["link_name"], report["environment"]) == (APP, "production")
    assert report["added"] == ["books_ledger", "team_sheet"] and report["previous_version"] is None
    assert sorted(report["services_created"]) == ["books", "sheets"]
    [ledger] = [e for e in ok(admin.get(f"/apps/{APP}/panel"))["items"]
                if e["link_name"] == "books_ledger"]  # fmt: skip
    assert ledger["may_authorize"] is True
    assert [(a["environment"], a["status"]) for a in ledger["authorizations"]] == [
        ("production", "not_connected")
    ]

    # The package carried no client secret: globex registers its own OAuth client.
    clients = {}
    for service in ("books", "sheets"):
        client = story.stack.provider.state.register_oauth2_client(
            redirect_uris=[f"{story.stack.base_url}/oauth/callback"]
        )
        clients[service] = client.client_id
        body = {"client_id": client.client_id, "client_secret": client.client_secret}
        answer = admin.put(f"/services/{service}/client", json=body)
        assert answer.status_code == 200 and client.client_secret not in answer.text, answer.text

    story.consent(admin, "books_ledger", "globex-books")
    assert statuses(admin, "books_ledger") == [("all", None, "connected", False)]

    ok(admin.put(f"/apps/{APP}/users/user@globex.test"))
    ok(root.post("/users", json={"email": "carol@globex.test", "role": "user"}), 201)
    carol = story.member("carol", "globex")

    early = user.post("/connections/team_sheet/consents", json={})
    assert early.status_code == 409 and "super admin must authorize it first" in early.text
    story.consent(root, "team_sheet", "globex-root-sheet")  # first: the primary account
    story.consent(user, "team_sheet", "ursula-sheet")
    exchanges = story.stack.provider.state.calls_to("oauth2.token")
    assert exchanges[-1].client_id == clients["sheets"] and exchanges[-1].status == 200

    secret = story.app_token(admin, APP, "production")
    app, proxy = story.as_app(secret), story.proxy(secret)
    [listed] = ok(admin.get(f"/apps/{APP}/tokens"))["items"]
    assert listed["name"] == "production" and "secret" not in listed
    assert ok(admin.get("/audit"))["items"]  # the audit trail is among the answers checked

    # Carol is a member but not yet a user of the app: the app may not act for her.
    refused = invoke(app, "team_sheet", "sheet", as_user="carol@globex.test")
    assert refused.status_code == 403, refused.text
    refused = proxy.get("/team_sheet/api/oauth2/sheet",
                        headers={"X-Plugboard-User": "carol@globex.test"})  # fmt: skip
    assert refused.status_code == 403, refused.text
    ok(admin.put(f"/apps/{APP}/users/carol@globex.test"))
    story.consent(carol, "team_sheet", "carol-sheet")

    # The app runs for each user with that user's own account; the ledger is the company's.
    saw = provider_saw(invoke(app, "team_sheet", "sheet", as_user="user@globex.test"))
    assert (saw["account"], saw["scope"]) == ("ursula-sheet", "read")
    through_proxy = proxy.get("/team_sheet/api/oauth2/sheet",
                              headers={"X-Plugboard-User": "carol@globex.test"})  # fmt: skip
    assert through_proxy.status_code == 200, through_proxy.text
    assert through_proxy.json()["account"] == "carol-sheet"
    for who in ("user@globex.test", "carol@globex.test"):
        saw = provider_saw(invoke(app, "books_ledger", "invoices", as_user=who))
        assert saw["account"] == "globex-books"
    # A schedule runs for no user: the primary account.
    assert provider_saw(invoke(app, "team_sheet", "sheet"))["account"] == "globex-root-sheet"
    api_calls = story.stack.provider.state.calls_to("api.oauth2")[-5:]
    assert {c.client_id for c in api_calls} <= {clients["books"], clients["sheets"]}

    assert statuses(root, "team_sheet") == [
        ("all", "carol@globex.test", "connected", False),
        ("all", "root@globex.test", "connected", True),
        ("all", "user@globex.test", "connected", False),
    ]
    # A user's panel: only the user-level connection, with their own account.
    [entry] = ok(carol.get(f"/apps/{APP}/panel"))["items"]
    assert entry["link_name"] == "team_sheet"
    assert [(a["status"], a["account_name"]) for a in entry["authorizations"]] == [
        ("connected", "carol-sheet@provider.test")
    ]
    return secret


def system_connection_is_made_once(story: Story, secret: str) -> None:
    """The workflow names the service twilio: its first runs, racing, make one connection."""
    answers: list[httpx2.Response] = []
    start = threading.Barrier(2)

    def first_use() -> None:
        app = story.as_app(secret)
        start.wait()
        answers.append(app.put(f"/apps/{APP}/system-connections/twilio"))

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    later = story.as_app(secret).put(f"/apps/{APP}/system-connections/twilio")

    assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
    assert later.status_code == 200 and later.json()["created"] is False
    links = {a.json()["connection"]["link_name"] for a in [*answers, later]}
    admin = story.member("admin", "globex")
    system = ok(admin.get("/connections", params={"level": "system"}))["items"]
    assert [c["link_name"] for c in system] == sorted(links) and len(links) == 1


# -- version 2 ----------------------------------------------------------------------------------


def developer_publishes_version_2(story: Story) -> bytes:
    """The ledger asks for one more scope and a dashboard page reads the sheet."""
    dev = story.member("dev")
    ok(dev.patch("/connections/books_ledger", json={"scopes": ["read", "write"]}))
    ok(dev.put(f"/apps/{APP}/components/page/Dashboard", json={"connections": ["team_sheet"]}))
    assert ok(dev.post(f"/apps/{APP}/publish"), 201)["number"] == 2
    answer = dev.get(f"/apps/{APP}/package")
    assert answer.status_code == 200, answer.text
    return answer.content


def update_keeps_every_authorization(story: Story, package: bytes, secret: str) -> None:
    admin, root = story.member("admin", "globex"), story.member("root", "globex")
    app = story.as_app(secret)

    report = ok(admin.post("/packages/install", content=package))

    assert report["previous_version"] == 1 and report["app"]["version"] == 2
    assert (report["added"], report["removed"]) == ([], [])
    assert report["updated"] == report["needs_reauth"] == ["books_ledger"]
    assert report["unchanged"] == ["team_sheet"]
    assert statuses(admin, "books_ledger") == [("all", None, "needs_reauth", False)]
    assert [s[2] for s in statuses(root, "team_sheet")] == ["connected"] * 3
    components = ok(admin.get(f"/apps/{APP}"))["components"]
    assert {(c["kind"], c["name"]) for c in components} == {
        ("form", "Listing"), ("workflow", "Sync"), ("page", "Dashboard"),
    }  # fmt: skip
    # The grown ledger waits for the admin; the users' sheets work on.
    waiting = invoke(app, "books_ledger", "invoices", as_user="user@globex.test")
    assert waiting.status_code == 424, waiting.text
    assert waiting.json()["who_must_act"].startswith("contact your admin"), waiting.text
    saw = provider_saw(invoke(app, "team_sheet", "sheet", as_user="carol@globex.test"))
    assert saw["account"] == "carol-sheet"

    story.consent(admin, "books_ledger", "globex-books")
    saw = provider_saw(invoke(app, "books_ledger", "invoices", as_user="user@globex.test"))
    assert (saw["account"], saw["scope"]) == ("globex-books", "read write")


# -- back in acme: an import next to the original ------------------------------------------------


def import_makes_copies(story: Story, package: bytes) -> None:
    dev = story.member("dev")

    report = ok(dev.post("/packages/import", content=package))

    copy = report["app"]["link_name"]
    assert copy == f"{APP}_copy"
    assert report["renamed"] == {
        "books_ledger": "books_ledger_copy", "team_sheet": "team_sheet_copy",
    }  # fmt: skip
    shown = ok(dev.get("/connections/books_ledger_copy"))
    assert shown["name"] == "Books ledger_copy"
    assert references(dev, "books_ledger_copy") == [(copy, "form", "Listing", "development")]
    assert references(dev, "team_sheet_copy") == [
        (copy, "page", "Dashboard", "development"), (copy, "workflow", "Sync", "development"),
    ]  # fmt: skip
    assert (copy, "form", "Listing", "development") not in references(dev, "books_ledger")

    # The copy is another app: its token does not reach the original's connections.
    other = story.as_app(story.app_token(dev, copy, "copy"))
    for link in ("books_ledger", "team_sheet"):
        refused = invoke(other, link, "x", as_user="dev@acme.test", environment="development")
        assert refused.status_code == 404, refused.text
