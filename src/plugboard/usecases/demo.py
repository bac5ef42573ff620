"""Demo data for `plugboard serve --demo`: a custom service for the bundled test provider, which
the server mounts at `/demo`. Everything here is for trying Plugboard on one machine."""

from __future__ import annotations

from urllib.parse import urlsplit

import yaml

from plugboard.domain.principal import OPERATOR
from plugboard.usecases.identity import DEFAULT_WORKSPACE
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service

DEMO_SERVICE = "demo_provider"
DEMO_PATH = "/demo"


def demo_service_file(base_url: str, client_id: str, client_secret: str) -> str:
    provider = base_url.rstrip("/") + DEMO_PATH
    definition = {
        "name": "Demo Provider",
        "link_name": DEMO_SERVICE,
        "category": "Demo",
        "description": "The bundled test provider (OAuth 2 with PKCE), served at /demo.",
        "base_url": f"{provider}/api/oauth2",
        "auth_type": "oauth2",
        "allow_user_level": True,
        "oauth2": {
            "client_id": client_id,
            "client_secret": client_secret,
            "authorize_url": f"{provider}/oauth2/authorize",
            "token_url": f"{provider}/oauth2/token",
            "revoke_url": f"{provider}/oauth2/revoke",
            "token_endpoint_auth_method": "client_secret_basic",
            "scopes": [
                {"name": "read", "description": "Read the demo API"},
                {"name": "write", "description": "Write to the demo API"},
            ],
        },
        "account_name": {
            "source": "userinfo",
            "url": f"{provider}/oauth2/userinfo",
            "field": "email",
        },
    }
    return yaml.safe_dump(definition, sort_keys=False)


def ensure_demo_service(runtime: Runtime, client_id: str, client_secret: str) -> bool:
    """Create the demo service in the default workspace unless it exists; True if created."""
    base_url = runtime.settings.base_url
    host = urlsplit(base_url).hostname or "127.0.0.1"
    with runtime.unit() as unit:
        workspace = unit.workspaces.find(DEFAULT_WORKSPACE)
        if workspace is None or unit.custom_services.find(workspace.id, DEMO_SERVICE):
            return False
        create_custom_service(
            unit,
            OPERATOR,
            demo_service_file(base_url, client_id, client_secret),
            workspace=DEFAULT_WORKSPACE,
            http_hosts=[host],
        )
    return True
