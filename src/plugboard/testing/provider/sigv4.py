"""The AWS Signature V4 protected API: the signature is recomputed from the request as received."""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.auth import sigv4
from plugboard.testing.provider.api import echo, prelude
from plugboard.testing.provider.common import Note, Refusal, same
from plugboard.testing.provider_state import AwsCredential, ProviderState

_AWS_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


async def api(state: ProviderState, request: Request, note: Note) -> Response:
    prelude(state, request, note)
    body = await request.body()
    note.placement = "header"
    credential, scope = _verify(state, request, body)
    note.account, note.client_id = credential.account, credential.access_key
    return echo(
        request,
        body,
        "aws",
        credential.account,
        extra={"service": scope[2], "region": scope[1]},
    )


def _verify(state: ProviderState, request: Request, body: bytes) -> tuple[AwsCredential, list[str]]:
    header = request.headers.get("authorization")
    if header is None:
        raise _aws_error(
            403, "MissingAuthenticationToken", "Request is missing Authentication Token"
        )
    match = _AWS_AUTH.fullmatch(header.strip())
    if match is None:
        raise _aws_error(400, "IncompleteSignature", "Authorization header is malformed")
    access_key, _, scope_text = match["credential"].partition("/")
    scope = scope_text.split("/")
    if len(scope) != 4 or scope[3] != "aws4_request":
        raise _aws_error(400, "IncompleteSignature", "Credential scope is malformed", scope)
    date, region, service, _ = scope
    credential = state.aws_credentials.get(access_key)
    if credential is None:
        raise _aws_error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            scope,
        )
    token = request.headers.get("x-amz-security-token")
    if (credential.session_token or token) and (
        token is None
        or credential.session_token is None
        or not same(token, credential.session_token)
    ):
        raise _aws_error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            scope,
        )
    amz_date = request.headers.get("x-amz-date", "")
    try:
        sent_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _aws_error(
            403, "IncompleteSignature", "X-Amz-Date is missing or malformed", scope
        ) from None
    now = state.now()
    if abs((now - sent_at).total_seconds()) > state.aws_max_skew:
        raise _aws_error(
            403,
            "SignatureDoesNotMatch",
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - timedelta(seconds=state.aws_max_skew)):%Y%m%dT%H%M%SZ}",
            scope,
        )
    if date != amz_date[:8]:
        raise _aws_error(
            403,
            "SignatureDoesNotMatch",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP",
            scope,
        )
    for expected, got, what in (
        (state.aws_region, region, "region"),
        (state.aws_service, service, "service"),
    ):
        if expected is not None and got != expected:
            raise _aws_error(
                403,
                "SignatureDoesNotMatch",
                f"Credential should be scoped to a valid {what}, not '{got}'.",
                scope,
            )
    body_hash = hashlib.sha256(body).hexdigest()
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and claimed not in (body_hash, sigv4.UNSIGNED_PAYLOAD):
        raise _aws_error(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            scope,
        )
    signed_names = match["signed"].split(";")
    if "host" not in signed_names:
        raise _aws_error(403, "SignatureDoesNotMatch", "'Host' must be a signed header", scope)
    headers: list[tuple[str, str]] = []
    for name in signed_names:
        values = request.headers.getlist(name)
        if not values:
            raise _aws_error(
                403, "SignatureDoesNotMatch", f"Signed header {name} is missing", scope
            )
        headers += [(name, value) for value in values]
    raw_path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    creq = sigv4.canonical_request(
        request.method,
        raw_path.decode("latin-1"),
        request.scope.get("query_string", b"").decode("latin-1"),
        headers,
        claimed or body_hash,
        service=service,
    )
    to_sign = sigv4.string_to_sign(creq, amz_date, "/".join(scope))
    expected_signature = sigv4.signature(credential.secret_key, to_sign, amz_date, region, service)
    if not same(expected_signature, match["signature"]):
        raise _aws_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
            scope,
        )
    return credential, scope


def _aws_error(status: int, code: str, message: str, scope: list[str] | None = None) -> Refusal:
    """An error as the service named in the credential scope would shape it."""
    service = scope[2] if scope and len(scope) > 2 else ""
    request_id = str(uuid.uuid4())
    response: Response
    if service == "dynamodb":
        response = JSONResponse(
            {"__type": f"com.amazon.coral.service#{code}", "message": message},
            status,
            media_type="application/x-amz-json-1.0",
        )
    elif service == "s3":
        response = Response(
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            f"<Error><Code>{code}</Code><Message>{html.escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>",
            status_code=status,
            media_type="application/xml",
        )
    else:
        response = Response(
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{html.escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>",
            status_code=status,
            media_type="text/xml",
        )
    response.headers["x-amzn-RequestId"] = request_id
    return Refusal(response, code)
