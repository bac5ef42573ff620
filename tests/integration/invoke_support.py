"""A small third-party service for the invoke tests (and the benchmarks), over real HTTPS.

It serves ``https://<anything>.pbtest-provider.net:<port>`` on 127.0.0.1 with a self-signed
certificate made for that name; :func:`resolver` maps the name to 127.0.0.1 for Plugboard's
outbound guard and :attr:`Provider.trust` is the TLS trust to verify it with. Service
definitions must use https URLs on real-looking hosts, which is why it is not plain
``http://127.0.0.1``.

Credentials are checked the way the real services do: Basic decoded, the OAuth 1 signature and
the SigV4 signature recomputed from the request as received, bearer tokens looked up, the
OAuth 2 token endpoint authenticating the client and rotating refresh tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx2
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugboard.auth.oauth1 import verify_hmac_sha1
from plugboard.auth.outbound import system_resolver
from plugboard.auth.sigv4 import canonical_request, signature, string_to_sign

DOMAIN = "pbtest-provider.net"


def resolver(host: str, port: int) -> list[str]:
    """Names under the provider's domain are on 127.0.0.1 (``down.``: on 127.0.0.3, where
    nothing listens); everything else as usual."""
    if host == f"down.{DOMAIN}":
        return ["127.0.0.3"]
    if host == DOMAIN or host.endswith("." + DOMAIN):
        return ["127.0.0.1"]
    return system_resolver(host, port)


def _certificate(directory: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(DOMAIN),
                    x509.DNSName(f"*.{DOMAIN}"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem.decode()


# --- the provider's state ------------------------------------------------------------------


@dataclass
class ProviderState:
    api_key: str = field(default_factory=lambda: "ak_" + secrets.token_hex(12))
    api_account: str = field(default_factory=lambda: "acct-" + secrets.token_hex(6))
    basic_user: str = "ACsid123"
    basic_password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(12))
    consumer_key: str = "ck-test"
    consumer_secret: str = field(default_factory=lambda: "cs-" + secrets.token_hex(12))
    oauth1_token: str = field(default_factory=lambda: "ot-" + secrets.token_hex(8))
    oauth1_token_secret: str = field(default_factory=lambda: "ots-" + secrets.token_hex(12))
    aws_access_key: str = "AKIDEXAMPLETEST00001"
    aws_secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    aws_region: str = "eu-west-1"
    aws_service: str = "sqs"
    client_id: str = "client-test"
    client_secret: str = field(default_factory=lambda: "csec-" + secrets.token_hex(12))
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    rotate_refresh_tokens: bool = True
    expires_in: int | None = 3600
    token_mode: str = "ok"  # ok | invalid_grant | unavailable
    reject_all_bearer: bool = False
    # Slack-style expiry: a rejected bearer token answers this status with {"error": ...}.
    bearer_failure_status: int = 401
    token_delay: float = 0.0
    token_calls: int = 0
    flaky: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_access_token(self) -> str:
        token = "at-" + secrets.token_hex(16)
        self.access_tokens.add(token)
        return token

    def new_refresh_token(self) -> str:
        token = "rt-" + secrets.token_hex(16)
        self.refresh_tokens.add(token)
        return token

    def secrets(self) -> list[str]:
        """Every secret value this state holds, for the leak scans."""
        return [
            self.api_key,
            self.api_account,
            self.basic_password,
            self.consumer_secret,
            self.oauth1_token,
            self.oauth1_token_secret,
            self.aws_secret_key,
            self.client_secret,
            *self.access_tokens,
            *self.refresh_tokens,
        ]


def _denied(why: str) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_token", "why": why},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


_SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


class Provider:
    """The Starlette app and its state (replaced per test with :meth:`reset`)."""

    def __init__(self) -> None:
        self.state = ProviderState()
        self.port = 0
        self.trust: ssl.SSLContext | None = None
        self.app = Starlette(
            routes=[
                Route("/api/{kind}/{rest:path}", self.api, methods=["GET", "POST", "PUT"]),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/flaky/{name}", self.flaky, methods=["GET", "POST"]),
                Route("/redirect", self.redirect, methods=["GET"]),
            ]
        )

    def reset(self) -> ProviderState:
        self.state = ProviderState()
        return self.state

    def url(self, path: str, tenant: str = "acme") -> str:
        return f"https://{tenant}.{DOMAIN}:{self.port}{path}"

    # -- protected API -------------------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        body = await request.body()
        checks = {
            "apikey": self._api_key,
            "basic": self._basic,
            "oauth1": self._oauth1,
            "sigv4": self._sigv4,
            "oauth2": self._bearer,
        }
        check = checks.get(kind)
        if check is None:
            return JSONResponse({"error": "no such api"}, status_code=404)
        problem = check(request, body)
        if problem is not None:
            if kind == "oauth2" and self.state.bearer_failure_status != 401:
                return JSONResponse(
                    {"ok": False, "error": problem}, status_code=self.state.bearer_failure_status
                )
            return _denied(problem)
        return JSONResponse(
            {
                "kind": kind,
                "host": request.headers.get("host", "").split(":")[0],
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode(),
                "method": request.method,
                "query": sorted(request.query_params.keys()),
                "body_bytes": len(body),
            }
        )

    def _api_key(self, request: Request, body: bytes) -> str | None:
        if not hmac.compare_digest(request.headers.get("x-api-key", ""), self.state.api_key):
            return "bad api key"
        if request.query_params.get("account") != self.state.api_account:
            return "bad account parameter"
        return None

    def _basic(self, request: Request, body: bytes) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return "no basic credentials"
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        if user != self.state.basic_user or not hmac.compare_digest(
            password, self.state.basic_password
        ):
            return "bad basic credentials"
        return None

    def _oauth1(self, request: Request, body: bytes) -> str | None:
        received = httpx2.Request(
            request.method, str(request.url), headers=request.headers.raw, content=body
        )
        header = request.headers.get("authorization", "")
        if f'oauth_consumer_key="{self.state.consumer_key}"' not in header:
            return "unknown consumer"
        if f'oauth_token="{self.state.oauth1_token}"' not in header:
            return "unknown token"
        if not verify_hmac_sha1(
            received, self.state.consumer_secret, self.state.oauth1_token_secret
        ):
            return "bad signature"
        return None

    def _sigv4(self, request: Request, body: bytes) -> str | None:
        found = _SIGV4.match(request.headers.get("authorization", ""))
        if found is None:
            return "no sigv4 authorization"
        if found["key"] != self.state.aws_access_key:
            return "unknown access key"
        amz_date = request.headers.get("x-amz-date", "")
        scope = f"{amz_date[:8]}/{self.state.aws_region}/{self.state.aws_service}/aws4_request"
        if found["scope"] != scope:
            return "wrong credential scope"
        payload = hashlib.sha256(body).hexdigest()
        if request.headers.get("x-amz-content-sha256") != payload:
            return "payload hash mismatch"
        signed = [
            (name, value)
            for name in found["signed"].split(";")
            for value in request.headers.getlist(name)
        ]
        creq = canonical_request(
            request.method,
            request.scope["raw_path"].decode(),
            request.scope["query_string"].decode(),
            signed,
            payload,
            service=self.state.aws_service,
        )
        expected = signature(
            self.state.aws_secret_key,
            string_to_sign(creq, amz_date, scope),
            amz_date,
            self.state.aws_region,
            self.state.aws_service,
        )
        if not hmac.compare_digest(expected, found["sig"]):
            return "signature mismatch"
        return None

    def _bearer(self, request: Request, body: bytes) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return "no bearer token"
        if self.state.reject_all_bearer or header[7:] not in self.state.access_tokens:
            return "token_expired"
        return None

    # -- token endpoint ------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        state = self.state
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            cid, _, csecret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            cid, csecret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        with state.lock:
            state.token_calls += 1
        if state.token_delay:
            await anyio.sleep(state.token_delay)
        if cid != state.client_id or not hmac.compare_digest(csecret, state.client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if state.token_mode == "unavailable":
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        old = str(form.get("refresh_token", ""))
        with state.lock:
            if state.token_mode == "invalid_grant" or old not in state.refresh_tokens:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            answer: dict[str, Any] = {
                "access_token": state.new_access_token(),
                "token_type": "Bearer",
            }
            if state.expires_in is not None:
                answer["expires_in"] = state.expires_in
            if state.rotate_refresh_tokens:
                state.refresh_tokens.discard(old)
                answer["refresh_token"] = state.new_refresh_token()
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    # -- misbehaviour ----------------------------------------------------------------------------

    async def flaky(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.state.lock:
            self.state.hits[name] = self.state.hits.get(name, 0) + 1
            left = self.state.flaky.get(name, 0)
            if left > 0:
                self.state.flaky[name] = left - 1
        if left > 0:
            status = 429 if name.startswith("429") else 503
            return JSONResponse({"error": "busy"}, status_code=status, headers={"Retry-After": "0"})
        return JSONResponse({"ok": True, "hits": self.state.hits[name]})

    async def redirect(self, request: Request) -> Response:
        return Response(
            status_code=302, headers={"Location": f"https://other.{DOMAIN}:{self.port}/elsewhere"}
        )


# --- running it -------------------------------------------------------------------------------


class ServerThread:
    """A uvicorn server on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, *, certfile: Path | None = None, keyfile: Path | None = None):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class RunningProvider:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        cert, key, pem = _certificate(Path(self._dir.name))
        self.provider = Provider()
        self._server = ServerThread(self.provider.app, certfile=cert, keyfile=key).start()
        self.provider.port = self._server.port
        self.provider.trust = ssl.create_default_context(cadata=pem)
        self.pem = pem

    def close(self) -> None:
        self._server.stop()
        self._dir.cleanup()


# --- the store side: a workspace, services, connections, credentials ------------------------


def service_yaml(
    kind: str, port: int, state: ProviderState, *, link: str | None = None, user_level: bool = False
) -> str:
    """A custom service file for one auth type, pointing at the provider."""
    host = f"https://{{tenant}}.{DOMAIN}:{port}"
    dynamic = "dynamic_parameters:\n  - key: tenant\n    display_name: Tenant\n"
    name = link or f"test_{kind}"
    head = f"name: Test {kind}\nlink_name: {name}\nbase_url: {host}/api/{kind}\n"
    if user_level:
        head += "allow_user_level: true\n"
    if kind == "apikey":
        return (
            head
            + "auth_type: api_key\napi_key:\n  parameters:\n"
            + "    - {param_type: header, name: X-Api-Key, display_name: Key}\n"
            + "    - {param_type: query, name: account, display_name: Account}\n"
            + dynamic
        )
    if kind == "basic":
        return head + "auth_type: basic\n" + dynamic
    if kind == "oauth1":
        return (
            head
            + "auth_type: oauth1\noauth1:\n"
            + f"  consumer_key: {state.consumer_key}\n  consumer_secret: {state.consumer_secret}\n"
            + f"  request_token_url: {host}/oauth1/request\n"
            + f"  authorize_url: {host}/oauth1/authorize\n"
            + f"  access_token_url: {host}/oauth1/access\n"
            + dynamic
        )
    if kind == "sigv4":
        return (
            head
            + "auth_type: aws_sigv4\naws_sigv4:\n"
            + f"  aws_service: {state.aws_service}\n  region: '{{region}}'\n"
            + dynamic
            + "  - key: region\n    display_name: Region\n    default: us-east-1\n"
        )
    if kind == "oauth2":
        return (
            head
            + "auth_type: oauth2\noauth2:\n"
            + f"  client_id: {state.client_id}\n  client_secret: {state.client_secret}\n"
            + f"  authorize_url: {host}/oauth/authorize\n"
            + f"  token_url: {host}/oauth/token\n"
            + "  token_endpoint_auth_method: client_secret_basic\n"
            + "  scopes:\n    - {name: read, description: Read things, required: true}\n"
            + "  expiry_signals: {statuses: [403], body_pattern: token_expired}\n"
            + dynamic
        )
    raise ValueError(kind)


@dataclass
class Members:
    super_admin: str = "boss@example.com"
    developer: str = "dev@example.com"
    user: str = "ann@example.com"
    other_user: str = "bob@example.com"


def seed_workspace(unit: Any) -> Members:
    """The default developer workspace with one member per role."""
    from plugboard.domain.models import Role, WorkspaceKind

    now = unit.now()
    ws = unit.workspaces.add("default", WorkspaceKind.DEVELOPER, now)
    members = Members()
    for email, role in (
        (members.super_admin, Role.SUPER_ADMIN),
        (members.developer, Role.DEVELOPER),
        (members.user, Role.USER),
        (members.other_user, Role.USER),
    ):
        user = unit.users.add(email, email.split("@")[0], None, now)
        unit.memberships.add(ws, user, role, now)
    return members


class World:
    """A seeded store, the provider, and the ways tests set things up through the usecases."""

    def __init__(self, runtime: Any, provider: Provider, members: Members) -> None:
        self.runtime = runtime
        self.provider = provider
        self.members = members
        self._clients: list[Any] = []

    @property
    def state(self) -> ProviderState:
        return self.provider.state

    def service(
        self,
        kind: str,
        *,
        link: str | None = None,
        user_level: bool = False,
        base_url: str | None = None,
    ) -> str:
        """A custom service for the provider; `base_url` (plain http on 127.0.0.1 allowed)
        replaces its API root for tests that call another listener: a credential is only ever
        sent to its service's own host."""
        import re

        from plugboard.domain.principal import OPERATOR
        from plugboard.usecases.services import create_custom_service

        text = service_yaml(kind, self.provider.port, self.state, link=link, user_level=user_level)
        if base_url is not None:
            text = re.sub(r"(?m)^base_url: .*$", f"base_url: {base_url}", text)
        with self.runtime.unit() as unit:
            service = create_custom_service(unit, OPERATOR, text, http_hosts=["127.0.0.1"])
            return str(service.link_name)

    def connection(
        self,
        service: str,
        *,
        link: str,
        level: str = "admin",
        per_environment: bool = False,
        params: dict[str, str] | None = None,
        scopes: Sequence[str] = (),
    ) -> str:
        from plugboard.domain.models import ConnectionLevel
        from plugboard.domain.principal import OPERATOR
        from plugboard.usecases.connections import create_connection

        with self.runtime.unit() as unit:
            created = create_connection(
                unit,
                OPERATOR,
                service=service,
                link_name=link,
                level=ConnectionLevel(level),
                per_environment=per_environment,
                params=params if params is not None else {"tenant": "acme"},
                scopes=scopes,
            )
        return str(created.link_name)

    def store(self, link: str, credential: Any, **options: Any) -> Any:
        from plugboard.domain.principal import OPERATOR
        from plugboard.usecases.credentials import store_credential

        with self.runtime.unit() as unit:
            return store_credential(
                unit, OPERATOR, connection=link, credential=credential, **options
            )

    def oauth2_credential(self, *, refresh: bool = True) -> Any:
        from plugboard.domain.credentials import OAuth2Credential

        return OAuth2Credential(
            access_token=self.state.new_access_token(),
            refresh_token=self.state.new_refresh_token() if refresh else None,
        )

    def client(self, *, as_member: str | None = None, workspace: str | None = None) -> Any:
        from plugboard.client.local import LocalClient
        from plugboard.domain.principal import OPERATOR
        from plugboard.usecases.identity import principal_for

        principal = OPERATOR
        if as_member is not None:
            with self.runtime.unit(write=False) as unit:
                principal = principal_for(unit, as_member, workspace, via="sdk")
        client = LocalClient(
            self.runtime,
            principal=principal,
            workspace=workspace,
            resolver=resolver,
            verify=self.provider.trust or True,
        )
        self._clients.append(client)
        return client

    def audit(self, action: str = "connection.invoke") -> list[Any]:
        with self.runtime.unit(write=False) as unit:
            return list(unit.audit.list(action=action))

    def close(self) -> None:
        for client in self._clients:
            client.close()


def invoke_settings(settings: Any, **changes: Any) -> Any:
    values = {
        "outbound_allowlist": "127.0.0.0/8",
        "allow_http_hosts": "127.0.0.1",
        "invoke_cache_seconds": 0.0,
        **changes,
    }
    return settings.model_copy(update=values)


@pytest.fixture(scope="session")
def running_provider() -> Iterator[RunningProvider]:
    running = RunningProvider()
    yield running
    running.close()


@pytest.fixture
def provider(running_provider: RunningProvider) -> Provider:
    running_provider.provider.reset()
    return running_provider.provider


@pytest.fixture
def world(
    settings: Any, database: Any, keyring: Any, clock: Any, provider: Provider
) -> Iterator[World]:
    from plugboard.crypto.sealing import Sealer
    from plugboard.usecases.runtime import Runtime

    runtime = Runtime(
        settings=invoke_settings(settings), database=database, sealer=Sealer(keyring), clock=clock
    )
    with runtime.unit() as unit:
        members = seed_workspace(unit)
    world = World(runtime, provider, members)
    yield world
    world.close()
