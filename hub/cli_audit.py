"""``hub audit``: re-check the audit log, sign a checkpoint, check a hub's published log from outside."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli_support import fail, prepared_state, print_json

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    url: Annotated[
        str | None, typer.Option("--url", help="Check a hub's published checkpoint instead of the database.")
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            "--state", help="With --url: where the last checkpoint seen is kept (default ./.hub-audit.json)."
        ),
    ] = None,
    seq: Annotated[
        int | None, typer.Option("--seq", min=1, help="With --url: also prove this entry is included.")
    ] = None,
) -> None:
    """Recompute the whole log and its checkpoints; exit 1 naming the first bad entry.

    With --url, needs no database: fetch the trust list and the latest checkpoint, check its
    signature and timestamp, and that it extends the checkpoint seen last time (kept in --state)."""
    if url is not None:
        _verify_remote(url.rstrip("/"), state_file or Path(".hub-audit.json"), seq)
        return
    from audit.offline import check_checkpoint
    from audit.verify import verify_log
    from hub.routers.audit import checkpoint_out
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        keys = {state.signing.pki.audit_key.kid: state.signing.pki.audit_key.private_key.public_key()}

        def signature_problem(checkpoint: Any) -> str | None:
            return check_checkpoint(
                checkpoint_out(state, checkpoint).model_dump(mode="json"), state.settings.public_url, keys
            )

        with unit_of_work(state.read_sessions) as session:
            report = verify_log(session, check_signature=signature_problem)
    finally:
        state.close()
    if not report.ok:
        typer.echo(f"audit log BROKEN: {report.problem}", err=True)
        typer.echo(f"({report.checked} entries sound before it; the head says {report.size})", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"audit log ok: {report.size} entries, root {report.root},"
        f" {report.checkpoints} checkpoints consistent"
    )


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign (and timestamp) a checkpoint of the log as it stands now, and print it."""
    from hub.checkpointing import sign_checkpoint
    from hub.routers.audit import checkpoint_out

    state = prepared_state()
    try:
        made = sign_checkpoint(state)
        if made is None:
            typer.echo("nothing new to sign: the latest checkpoint covers the whole log", err=True)
            return
        print_json(checkpoint_out(state, made).model_dump(mode="json"))
    finally:
        state.close()


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 -- an http(s) URL the operator gave
            return json.loads(response.read())
    except OSError as exc:
        raise fail(f"cannot fetch {url}: {exc}", 1) from exc


def _verify_remote(url: str, state_file: Path, seq: int | None) -> None:
    from audit.offline import check_checkpoint, check_extends, check_included
    from signing.trust import TrustList

    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise fail("--url must be an http(s) URL")
    trust = TrustList.from_api(_get(f"{url}/api/v1/trust"))
    new = _get(f"{url}/api/v1/audit/checkpoint")
    origin = str(new.get("note", "")).split("\n")[1] if new.get("note") else url
    if problem := check_checkpoint(new, origin, trust.audit_keys):
        typer.echo(f"audit checkpoint BAD: {problem}", err=True)
        raise typer.Exit(1)
    old = json.loads(state_file.read_text()) if state_file.is_file() else None
    if old is not None and int(old["size"]) != int(new["size"]):
        query = urllib.parse.urlencode({"first": old["size"], "second": new["size"]})
        proof = _get(f"{url}/api/v1/audit/proof/consistency?{query}")["hashes"]
        if problem := check_extends(old, new, proof):
            typer.echo(f"audit log BROKEN: {problem}", err=True)
            raise typer.Exit(1)
    elif old is not None and old["root"] != new["root"]:
        typer.echo("audit log BROKEN: the same size with another root: history was rewritten", err=True)
        raise typer.Exit(1)
    if seq is not None:
        query = urllib.parse.urlencode({"seq": seq, "size": new["size"]})
        proof = _get(f"{url}/api/v1/audit/proof/inclusion?{query}")
        if problem := check_included(proof["leaf_hash"], seq, new, proof["hashes"]):
            typer.echo(f"audit log BROKEN: {problem}", err=True)
            raise typer.Exit(1)
    state_file.write_text(json.dumps(new))
    since = f", extends the one of size {old['size']}" if old else ""
    typer.echo(
        f"audit checkpoint ok: {new['size']} entries, root {new['root']}, signed {new['signed_at']}{since}"
    )
