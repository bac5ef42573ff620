"""`/docs` works offline: Swagger UI's files come from the server itself, never from a CDN."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from plugboard.server.app import create_app
from plugboard.server.docs_ui import SWAGGER_DIR, install_docs
from plugboard.usecases.runtime import Runtime

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    if not (SWAGGER_DIR / "swagger-ui-bundle.js").is_file():
        message = f"Swagger UI is not built into {SWAGGER_DIR}: run make install (needs npm)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with TestClient(create_app(runtime.settings, runtime=runtime)) as test_client:
        yield test_client


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_docs_page_loads_only_assets_of_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    urls = _asset_urls(page.text)
    assert len(urls) >= 2
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "http://" not in page.text and "https://" not in page.text


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [(".js", "javascript"), (".css", "text/css"), (".png", "image/png")],
)
def test_the_docs_page_assets_are_served(
    client: TestClient, suffix: str, content_type: str
) -> None:
    urls = [url for url in _asset_urls(client.get("/docs").text) if url.endswith(suffix)]
    assert urls, suffix
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert content_type in response.headers["content-type"], url
        assert len(response.content) > 100


def test_redoc_whose_assets_would_come_from_a_cdn_is_not_served(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


def test_without_the_built_assets_the_docs_page_says_how_to_build_them(tmp_path: Path) -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    install_docs(app, assets=tmp_path / "missing")
    with TestClient(app) as test_client:
        page = test_client.get("/docs")
    assert page.status_code == 503
    assert "make install" in page.text and "npm" in page.text
