"""`plugboard webhooks …`: a workspace's webhook endpoints (SPEC §11), their deliveries and
replay, for workspace admins and super admins. Every command works through the client, embedded
or with `--server`; the signing secret is printed once, by `create` and `rotate`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, client_for
from plugboard.cli.output import out, print_json, print_table, when

if TYPE_CHECKING:
    from plugboard.records.webhooks import WebhookDeliveryDetails, WebhookSecretIssued

webhooks_app = typer.Typer(
    help="Webhooks: signed messages (Standard Webhooks) about this workspace's events, sent to "
    "your endpoints, retried for a day, replayable.",
    no_args_is_help=True,
)

WebhookId = Annotated[str, typer.Argument(metavar="WEBHOOK", help="The endpoint's id (whe_…).")]
DeliveryId = Annotated[str, typer.Argument(metavar="DELIVERY", help="A delivery's id (msg_…).")]


def _issued(issued: WebhookSecretIssued, json_: bool, verb: str) -> None:
    if json_:
        print_json(issued.model_dump(mode="json"))
        return
    out.print(f"webhook {issued.webhook.id} {verb}: {issued.webhook.url}", markup=False)
    until = issued.webhook.previous_secret_valid_until
    if until is not None:
        out.print(f"the previous secret signs too until {when(until)} UTC", markup=False)
    out.print("signing secret (shown this once; Plugboard keeps it sealed):", markup=False)
    out.print(issued.secret, markup=False)


@webhooks_app.command("create")
def webhooks_create(
    url: Annotated[str, typer.Argument(help="https URL (http only for allowed hosts).")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event type to receive (repeat it); default: all."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Add an endpoint; prints its signing secret this once."""
    with client_for(as_user, workspace) as client:
        issued = client.webhooks.create(url=url, events=event or None, description=description)
    _issued(issued, json_, "created")


@webhooks_app.command("list")
def webhooks_list(
    workspace: WorkspaceOption = None, as_user: AsOption = None, json_: JsonOption = False
) -> None:
    """The workspace's endpoints (never their secrets)."""
    with client_for(as_user, workspace) as client:
        found = client.webhooks.list()
    if json_:
        print_json([w.model_dump(mode="json") for w in found])
        return
    print_table(
        f"Webhooks ({len(found)})",
        ["id", "url", "events", "created", "rotated"],
        [(w.id, w.url, ", ".join(w.events), when(w.created_at), when(w.rotated_at))
         for w in found],
    )  # fmt: skip


@webhooks_app.command("rotate")
def webhooks_rotate(
    webhook: WebhookId,
    overlap_seconds: Annotated[
        float | None,
        typer.Option(help="How long the previous secret keeps signing (default a day)."),
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """A new signing secret, printed this once; the old one signs beside it for the overlap."""
    with client_for(as_user, workspace) as client:
        issued = client.webhooks.rotate(webhook, overlap_seconds=overlap_seconds)
    _issued(issued, json_, "rotated")


@webhooks_app.command("delete")
def webhooks_delete(
    webhook: WebhookId,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Delete an endpoint with its deliveries."""
    with client_for(as_user, workspace) as client:
        client.webhooks.delete(webhook)
    if json_:
        print_json({"deleted": webhook})
    else:
        out.print(f"webhook {webhook} deleted", markup=False)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook: WebhookId,
    status: Annotated[
        str | None, typer.Option(help="Only pending, delivered or failed ones.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """An endpoint's deliveries, newest first."""
    with client_for(as_user, workspace) as client:
        found = client.webhooks.deliveries(webhook, status=status, limit=limit)
    if json_:
        print_json([d.model_dump(mode="json") for d in found])
        return
    print_table(
        f"Deliveries ({len(found)})",
        ["id", "event", "status", "attempts", "last status", "next attempt", "created"],
        [(d.id, d.event_type, d.status, d.attempts, d.last_status_code,
          when(d.next_attempt_at), when(d.created_at)) for d in found],
    )  # fmt: skip


def _show(details: WebhookDeliveryDetails, json_: bool) -> None:
    if json_:
        print_json(details.model_dump(mode="json"))
        return
    print_table(
        f"Delivery {details.id} ({details.event_type}): {details.status}",
        ["#", "cause", "when", "outcome", "status", "ms", "response / error"],
        [(a.number, a.cause, when(a.started_at), a.outcome, a.status_code, a.latency_ms,
          a.error or a.response_excerpt) for a in details.attempt_log],
    )  # fmt: skip


@webhooks_app.command("show")
def webhooks_show(
    delivery: DeliveryId,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """A delivery with its payload (--json) and every attempt."""
    with client_for(as_user, workspace) as client:
        details = client.webhooks.delivery(delivery)
    _show(details, json_)


@webhooks_app.command("replay")
def webhooks_replay(
    delivery: DeliveryId,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Send a delivery again now (same webhook-id and payload, newly signed)."""
    with client_for(as_user, workspace) as client:
        details = client.webhooks.replay(delivery)
    _show(details, json_)
