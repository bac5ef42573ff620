"""`plugboard invoke LINK METHOD URL`: send one request with a connection's credential (with
``--server``: on that Plugboard server, through its REST API).

Prints the body on stdout (``-i``: the status line and headers first, as curl does; without it
the status line goes to stderr). Exit status: 0 when a response arrived (whatever its status),
3 when the connection needs an authorization (the message says who must act), 4 when the request
could not be sent (blocked address, unreachable host, timeout), 1 for other errors.
``--json`` prints one JSON object instead: status, url, headers and the body (``json`` when it
parses as JSON, else ``text``, or ``body_base64`` when it is not text); the exit status is the
same.
"""

from __future__ import annotations

import json as _json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from plugboard.cli.common import AsOption, WorkspaceOption, client_for
from plugboard.cli.output import err, print_json

if TYPE_CHECKING:
    from plugboard.client.protocol import InvokeResponse

EXIT_AUTHORIZATION_REQUIRED = 3
EXIT_TRANSPORT = 4


def _pairs(values: list[str], sep: str, option: str) -> list[tuple[str, str]]:
    from plugboard.errors import ValidationError

    pairs = []
    for value in values:
        name, found, rest = value.partition(sep)
        if not found or not name.strip():
            raise ValidationError(option, f"must look like NAME{sep}VALUE")
        pairs.append((name.strip(), rest.strip() if sep == ":" else rest))
    return pairs


def _body(data: str | None) -> str | bytes | None:
    from plugboard.errors import ValidationError

    if data is None or not data.startswith("@"):
        return data
    try:
        return Path(data[1:]).read_bytes()
    except OSError as exc:
        raise ValidationError("--data", f"cannot read {data[1:]!r}: {exc.strerror}") from None


def invoke(
    link: Annotated[str, typer.Argument(help="Link name of the connection.")],
    method: Annotated[str, typer.Argument(help="HTTP method: GET, POST, PUT, PATCH, DELETE …")],
    url: Annotated[
        str,
        typer.Argument(
            help="Full URL, or a path (starting with /) relative to the service's base URL. "
            "{key} placeholders take the connection's dynamic parameter values."
        ),
    ],
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="A header, NAME:VALUE (repeat).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A query parameter, NAME=VALUE (repeat)."),
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="Request body text, or @FILE to send a file.")
    ] = None,
    json_body: Annotated[
        str | None, typer.Option("--json-body", help="A JSON request body (sent as JSON).")
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="Environment: development, stage or production (default: the workspace's first).",
        ),
    ] = None,
    include: Annotated[
        bool, typer.Option("--include", "-i", help="Print the status line and headers.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds before giving up (default 30).")
    ] = None,
    as_user: AsOption = None,
    workspace: WorkspaceOption = None,
    json_: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the response as one JSON object (status, headers, body)."
        ),
    ] = False,
) -> None:
    """Send METHOD URL with the credential of connection LINK and print the response."""
    from plugboard.errors import AuthorizationRequired, OutboundError, ValidationError

    headers = dict(_pairs(header or [], ":", "--header"))
    params: dict[str, Any] = {}
    for name, value in _pairs(param or [], "=", "--param"):
        params.setdefault(name, []).append(value)
    json_value: Any = None
    if json_body is not None:
        if data is not None:
            raise ValidationError("--json-body", "give either --data or --json-body, not both")
        try:
            json_value = _json.loads(json_body)
        except ValueError:
            raise ValidationError("--json-body", "must be valid JSON") from None
    try:
        with client_for(as_user, workspace) as pb:
            response = pb.invoke_url(
                url,
                method,
                connection=link,
                headers=headers or None,
                params=params or None,
                data=_body(data),
                json=json_value,
                environment=env,
                timeout=timeout,
            )
    # sys.exit, not typer.Exit: `plugboard` runs click with standalone_mode=False, where an Exit's
    # code is returned rather than used as the process's exit status.
    except AuthorizationRequired as exc:
        err.print(f"error: {exc.message} [{exc.code}]", markup=False)
        sys.exit(EXIT_AUTHORIZATION_REQUIRED)
    except OutboundError as exc:
        err.print(f"error: {exc.message} [{exc.code}]", markup=False)
        sys.exit(EXIT_TRANSPORT)
    if json_:
        print_json(_as_json(response))
        return
    status_line = f"HTTP {response.status} {_reason(response.status)}".rstrip()
    if include:
        lines = [status_line, *(f"{k}: {v}" for k, v in response.headers.multi_items()), "", ""]
        sys.stdout.write("\n".join(lines))
        sys.stdout.flush()
    else:
        err.print(status_line, markup=False)
    sys.stdout.buffer.write(response.content)
    if response.content and not response.content.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()


def _as_json(response: InvokeResponse) -> dict[str, Any]:
    """The response as JSON: the body parsed when it is JSON, else as text, else base64."""
    import base64

    result: dict[str, Any] = {
        "status": response.status,
        "reason": _reason(response.status),
        "url": response.url,
        "headers": [[k, v] for k, v in response.headers.multi_items()],
    }
    content = response.content
    if "json" in response.headers.get("content-type", ""):
        try:
            result["json"] = _json.loads(content)
            return result
        except ValueError:
            pass
    try:
        result["text"] = content.decode(response.encoding or "utf-8")
    except (UnicodeDecodeError, LookupError):
        result["body_base64"] = base64.b64encode(content).decode("ascii")
    return result


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
