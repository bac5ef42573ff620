"""S3 keys with ``.``/``..`` segments (``%2E``/``%2E%2E`` in the URL) are sent encoded and the
signature covers exactly the path sent: httpx2 would otherwise resolve a literal ``..``."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import httpx2
import pytest

from plugboard.auth import sigv4

ACCESS_KEY, SECRET_KEY, REGION = "AKIDPLUGBOARD", "s3cr3t/KEY+value", "us-east-1"
NOW = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)

CASES = [
    ("https://bucket.s3.amazonaws.com/photos/%2E%2E/x.jpg", "/photos/%2E%2E/x.jpg"),
    ("https://bucket.s3.amazonaws.com/photos/%2e%2e/x.jpg", "/photos/%2E%2E/x.jpg"),
    ("https://bucket.s3.amazonaws.com/photos/%2E/x.jpg", "/photos/%2E/x.jpg"),
    ("https://bucket.s3.amazonaws.com/%2E%2E", "/%2E%2E"),
    ("https://bucket.s3.amazonaws.com/a/%2E%2E/%2E%2E/b/", "/a/%2E%2E/%2E%2E/b/"),
]


def auth() -> sigv4.SigV4Auth:
    return sigv4.SigV4Auth(ACCESS_KEY, SECRET_KEY, REGION, "s3", clock=lambda: NOW)


def canonical_path_signed(signed: httpx2.Request) -> str:
    """The CanonicalURI line a verifier recomputes from the request."""
    names = signed.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = [(k, v) for k, v in signed.headers.multi_items() if k.lower() in names]
    path, _, query = signed.url.raw_path.decode().partition("?")
    creq = sigv4.canonical_request(
        signed.method, path, query, headers, signed.headers["x-amz-content-sha256"], service="s3"
    )
    return creq.split("\n")[1]


def botocore_authorization(signed: httpx2.Request) -> str:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed_names = signed.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    names = set(signed_names.split(";")) - {"x-amz-date", "x-amz-content-sha256"}
    headers = {k: v for k, v in signed.headers.multi_items() if k.lower() in names}
    aws_request = AWSRequest(
        method=signed.method, url=str(signed.url), data=signed.content, headers=headers
    )
    aws_request.context["payload_signing_enabled"] = True
    signer = S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signer.add_auth(aws_request)
    return str(aws_request.headers["Authorization"])


@pytest.mark.parametrize(("url", "sent"), CASES)
def test_dot_segment_keys_are_sent_encoded_and_signed_as_sent(url: str, sent: str) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    with httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth()) as client:
        client.get(url)
    (received,) = seen
    assert received.url.raw_path.decode() == sent
    assert canonical_path_signed(received) == sent
    assert received.headers["Authorization"] == botocore_authorization(received)


@pytest.mark.parametrize(("url", "sent"), CASES)
def test_dot_segment_signature_matches_botocore(url: str, sent: str) -> None:
    signed = auth().sign(httpx2.Request("PUT", url, content=b"data"))
    assert signed.url.raw_path.decode() == sent
    assert signed.headers["Authorization"] == botocore_authorization(signed)


def test_canonical_uri_keeps_s3_dot_segments_encoded() -> None:
    assert sigv4.canonical_uri("/photos/%2E%2E/x.jpg", service="s3") == "/photos/%2E%2E/x.jpg"
