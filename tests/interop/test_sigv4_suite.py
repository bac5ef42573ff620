"""The AWS Signature Version 4 test suite, every case, through plugboard.auth.sigv4's pure
functions; then a cross-check against botocore's signer on requests the suite does not cover."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from unittest import mock

import httpx2
import pytest

from plugboard.auth import sigv4

VECTORS = Path(__file__).parents[1] / "vectors" / "sigv4"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20150830T123600Z"
REGION = "us-east-1"
SERVICE = "service"
# get-vanilla-with-session-token's token is not in its .req; its .creq shows it (signed).
SESSION_TOKENS = {
    "get-vanilla-with-session-token": (
        "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
    ),
}

CASES = sorted(p.parent for p in VECTORS.rglob("*.req"))


def parse_request(raw: bytes) -> tuple[str, str, str, list[tuple[str, str]], bytes]:
    """(method, path, query, headers, body) of a raw .req file; folds continuation lines."""
    head, sep, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest.rsplit(" ", 1)[0]
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return method, path, query, headers, body if sep else b""


def read(case: Path, ext: str) -> str:
    return (case / f"{case.name}.{ext}").read_bytes().decode("utf-8")


def compute(case: Path) -> tuple[str, str, str]:
    method, path, query, headers, body = parse_request((case / f"{case.name}.req").read_bytes())
    token = SESSION_TOKENS.get(case.name)
    if token:
        headers.append(("X-Amz-Security-Token", token))
    creq = sigv4.canonical_request(
        method, path, query, headers, hashlib.sha256(body).hexdigest(), service=SERVICE
    )
    scope = sigv4.credential_scope(AMZ_DATE, REGION, SERVICE)
    sts = sigv4.string_to_sign(creq, AMZ_DATE, scope)
    sig = sigv4.signature(SECRET_KEY, sts, AMZ_DATE, REGION, SERVICE)
    _, signed = sigv4.canonical_headers(headers)
    return creq, sts, sigv4.authorization_header(ACCESS_KEY, scope, signed, sig)


def test_the_suite_has_all_34_cases() -> None:
    assert len(CASES) == 34


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_canonical_request_matches_suite(case: Path) -> None:
    assert compute(case)[0] == read(case, "creq")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_string_to_sign_matches_suite(case: Path) -> None:
    assert compute(case)[1] == read(case, "sts")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_authorization_matches_suite(case: Path) -> None:
    assert compute(case)[2] == read(case, "authz")


def test_sigv4auth_adds_unsigned_session_token_after_signing_like_post_sts_header_after() -> None:
    case = VECTORS / "post-sts-token" / "post-sts-header-after"
    token = (VECTORS / "post-sts-token" / "readme.txt").read_text().rsplit("\n", 1)[-1].strip()
    now = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC)
    auth = sigv4.SigV4Auth(
        ACCESS_KEY, SECRET_KEY, REGION, SERVICE, token, lambda: now, sign_session_token=False
    )
    request = auth.sign(httpx2.Request("POST", "https://example.amazonaws.com/"))
    assert request.headers["X-Amz-Security-Token"] == token
    assert "x-amz-security-token" not in request.headers["Authorization"]
    sreq = read(case, "sreq")
    assert f"X-Amz-Security-Token:{token}" in sreq


# --- cross-check against botocore ------------------------------------------------------------

NOW = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.UTC)


def botocore_authorization(signed: httpx2.Request, service: str, token: str | None) -> str:
    from botocore.auth import S3SigV4Auth
    from botocore.auth import SigV4Auth as BotoSigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed_names = signed.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    names = set(signed_names.split(";")) - {"x-amz-date", "x-amz-security-token"}
    if service == "s3":
        names.discard("x-amz-content-sha256")
    headers = [(k, v) for k, v in signed.headers.multi_items() if k.lower() in names]
    aws_request = AWSRequest(
        method=signed.method, url=str(signed.url), data=signed.content, headers=dict(headers)
    )
    if service == "s3":
        aws_request.context["payload_signing_enabled"] = True
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, token)
    signer_class = S3SigV4Auth if service == "s3" else BotoSigV4Auth
    signer = signer_class(credentials, service, REGION)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signer.add_auth(aws_request)
    return str(aws_request.headers["Authorization"])


CROSS_CASES = {
    "repeated-query-keys": ("GET", "https://sqs.us-east-1.amazonaws.com/?b=2&a=3&a=1&a=2", "sqs"),
    "s3-double-slash-and-spaces": (
        "GET",
        "https://bucket.s3.amazonaws.com/my-object//example//photo user.jpg",
        "s3",
    ),
    "post-json-body": ("POST", "https://dynamodb.us-east-1.amazonaws.com/", "dynamodb"),
    "unicode-path": (
        "GET",
        "https://execute-api.us-east-1.amazonaws.com/caf\u00e9/\u1234",
        "execute-api",
    ),
    "query-space-and-reserved": (
        "GET",
        "https://sqs.us-east-1.amazonaws.com/?q=a b&r=x/y+z*",
        "sqs",
    ),
}


@pytest.mark.parametrize("name", sorted(CROSS_CASES))
def test_authorization_matches_botocore(name: str) -> None:
    method, url, service = CROSS_CASES[name]
    content = b'{"TableName": "t\\u00e9"}' if method == "POST" else None
    headers = (
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
        }
        if content
        else {}
    )
    auth = sigv4.SigV4Auth(ACCESS_KEY, SECRET_KEY, REGION, service, clock=lambda: NOW)
    signed = auth.sign(httpx2.Request(method, url, headers=headers, content=content))
    assert signed.headers["Authorization"] == botocore_authorization(signed, service, None)


def test_session_token_authorization_matches_botocore() -> None:
    token = "FwoGZXIvYXdzEXAMPLE//token+with/slashes=="
    auth = sigv4.SigV4Auth(ACCESS_KEY, SECRET_KEY, REGION, "sqs", token, lambda: NOW)
    signed = auth.sign(
        httpx2.Request("GET", "https://sqs.us-east-1.amazonaws.com/?Action=ListQueues")
    )
    assert "x-amz-security-token" in signed.headers["Authorization"]
    assert signed.headers["Authorization"] == botocore_authorization(signed, "sqs", token)
