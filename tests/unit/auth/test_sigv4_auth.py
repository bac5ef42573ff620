from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import httpx2
import pytest

from plugboard.auth import sigv4

ACCESS_KEY, SECRET_KEY = "AKIDPLUGBOARD", "s3cr3t/KEY+value"
NOW = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def aws_verifier(secret_key: str = SECRET_KEY, region: str = "eu-west-1") -> object:
    """An AWS front end: recomputes the signature from the request as received."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        header = request.headers.get("authorization", "")
        algorithm, _, rest = header.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(","))
        access_key, scope = fields["Credential"].split("/", 1)
        date, scope_region, service, _ = scope.split("/")
        names = fields["SignedHeaders"].split(";")
        amz_date = request.headers["x-amz-date"]
        payload_hash = request.headers["x-amz-content-sha256"]
        if payload_hash != sigv4.UNSIGNED_PAYLOAD:
            if payload_hash != hashlib.sha256(request.content).hexdigest():
                return httpx2.Response(400, text="XAmzContentSHA256Mismatch")
        if "host" not in names or "x-amz-date" not in names or scope_region != region:
            return httpx2.Response(403)
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() in names]
        path, _, query = request.url.raw_path.decode().partition("?")
        creq = sigv4.canonical_request(
            request.method, path, query, headers, payload_hash, service=service
        )
        sts = sigv4.string_to_sign(creq, amz_date, scope)
        expected = sigv4.signature(secret_key, sts, amz_date, region, service)
        ok = (
            algorithm == sigv4.ALGORITHM
            and access_key == ACCESS_KEY
            and date == amz_date[:8]
            and hmac.compare_digest(expected, fields["Signature"])
        )
        return httpx2.Response(200 if ok else 403)

    return handler


def auth(service: str = "sqs", **kwargs: object) -> sigv4.SigV4Auth:
    return sigv4.SigV4Auth(
        ACCESS_KEY, SECRET_KEY, "eu-west-1", service, clock=lambda: NOW, **kwargs
    )  # type: ignore[arg-type]


def test_signed_get_is_accepted_by_a_recomputing_verifier(send) -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/?Action=ListQueues&QueueNamePrefix=a b"
    assert send(auth(), aws_verifier(), "GET", url).status_code == 200


def test_signed_post_with_json_body_is_accepted(send) -> None:
    response = send(
        auth("dynamodb"),
        aws_verifier(),
        "POST",
        "https://dynamodb.eu-west-1.amazonaws.com/",
        json={"TableName": "t"},
        headers={"X-Amz-Target": "DynamoDB_20120810.DescribeTable"},
    )
    assert response.status_code == 200


def test_wrong_secret_is_rejected_by_the_same_verifier(send) -> None:
    response = send(auth(), aws_verifier(secret_key="other"), "GET", "https://sqs.x.com/")
    assert response.status_code == 403


def test_s3_path_with_double_slashes_is_signed_unnormalized(send) -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path.decode())
        return aws_verifier()(request)  # type: ignore[operator]

    url = "https://b.s3.eu-west-1.amazonaws.com/my-object//example//photo user.jpg"
    response = send(auth("s3"), handler, "PUT", url, content=b"data")
    assert response.status_code == 200
    assert seen == ["/my-object//example//photo%20user.jpg"]


def test_required_headers_are_set(send) -> None:
    seen: list[httpx2.Headers] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers)
        return httpx2.Response(200)

    send(auth(), handler, "POST", "https://sqs.x.com/", content=b"abc")
    assert seen[0]["x-amz-date"] == "20250304T050607Z"
    assert seen[0]["x-amz-content-sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert seen[0]["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20250304/eu-west-1/sqs/aws4_request, "
    )


def test_unsigned_payload_is_declared_and_accepted(send) -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["x-amz-content-sha256"])
        return aws_verifier()(request)  # type: ignore[operator]

    response = send(
        auth("s3", unsigned_payload=True), handler, "PUT", "https://b.s3.x.com/k", content=b"x"
    )
    assert response.status_code == 200
    assert seen == ["UNSIGNED-PAYLOAD"]


def test_session_token_is_sent_and_signed(send) -> None:
    seen: list[httpx2.Headers] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers)
        return aws_verifier()(request)  # type: ignore[operator]

    response = send(auth(session_token="sess-tok"), handler, "GET", "https://sqs.x.com/")
    assert response.status_code == 200
    assert seen[0]["x-amz-security-token"] == "sess-tok"
    assert "x-amz-security-token" in seen[0]["authorization"].split("SignedHeaders=")[1]


def test_user_agent_and_connection_headers_are_not_signed(send) -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0])
        return httpx2.Response(200)

    send(auth(), handler, "GET", "https://sqs.x.com/", headers={"Content-Type": "text/plain"})
    signed = seen[0].split(";")
    assert {"host", "x-amz-date", "x-amz-content-sha256", "content-type"} <= set(signed)
    assert not {"user-agent", "connection", "accept-encoding"} & set(signed)


def test_a_tampered_body_is_rejected(send) -> None:
    def tampering(request: httpx2.Request) -> httpx2.Response:
        forged = httpx2.Request(
            request.method,
            request.url,
            headers={k: v for k, v in request.headers.items() if k != "content-length"},
            content=b"forged",
        )
        return aws_verifier()(forged)  # type: ignore[operator]

    response = send(auth(), tampering, "POST", "https://sqs.x.com/", content=b"original")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/a/./b/../c", "/a/c"), ("//a//b//", "/a/b/"), ("", "/"), ("/..", "/"), ("/a/b/..", "/a")],
)
def test_path_normalization(path: str, expected: str) -> None:
    assert sigv4.normalize_path(path) == expected


def test_non_s3_path_is_encoded_a_second_time() -> None:
    assert sigv4.canonical_uri("/a%20b/c", service="sqs") == "/a%2520b/c"


def test_s3_path_is_encoded_once_and_not_normalized() -> None:
    assert sigv4.canonical_uri("/a%20b//./c", service="s3") == "/a%20b//%2E/c"


def test_query_sorts_by_encoded_key_then_value_keeping_repeats() -> None:
    assert sigv4.canonical_query_string("b=2&a=2&a=1&a=1&c") == "a=1&a=1&a=2&b=2&c="


def test_query_plus_is_a_space_and_reserved_characters_are_encoded() -> None:
    assert sigv4.canonical_query_string("q=a+b&r=x/y*%2B") == "q=a%20b&r=x%2Fy%2A%2B"


def test_duplicate_headers_join_in_order_and_values_are_trimmed() -> None:
    block, signed = sigv4.canonical_headers(
        [("X-B", " two  words "), ("x-a", "1"), ("X-B", "line\n   folded")]
    )
    assert block == "x-a:1\nx-b:two words,line folded\n"
    assert signed == "x-a;x-b"
