"""The ``hub`` command."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from hub.cli_applications import applications_app, tasks_app
from hub.cli_audit import audit_app
from hub.cli_catalog import catalog_app, search_app
from hub.cli_ops import certificates_app, demo, pki_app, seals_app, signatures_app, storage_app, verify
from hub.cli_sharing import sharing_app
from hub.cli_support import fail, prepared_state, print_json
from hub.extras import MissingExtra
from hub.settings import Settings, describe_refusal, served_url
from kernel.errors import DomainError

app = typer.Typer(
    help="The hub: electronic certificates, catalog and data sharing.",
    no_args_is_help=True,
    # Tracebacks with local variables could print tokens, keys or identity numbers.
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.callback()
def _configure() -> None:
    """Commands print their results; their logs say only what went wrong (``hub serve`` logs at
    ``HUB_LOG_LEVEL``)."""
    import logging

    from hub.observability import configure_logging

    level = Settings().log_level.upper()
    configure_logging(level if logging.getLevelName(level) >= logging.WARNING else "WARNING")


orgs_app = typer.Typer(help="Organizations.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients.", no_args_is_help=True)
dev_app = typer.Typer(help="Development helpers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(clients_app, name="clients")
app.add_typer(dev_app, name="dev")
app.add_typer(catalog_app, name="catalog")
app.add_typer(search_app, name="search")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (CPU-bound sealing scales with them).")] = 1,
) -> None:
    """Run the API (migrating the database and creating keys first).

    Without ``HUB_PUBLIC_URL`` the public URL (written into seal certificates) is the address
    served: ``http://HOST:PORT``."""
    import os

    import uvicorn

    from hub.app import create_app
    from hub.observability import configure_logging
    from hub.serving import HTTPProtocol

    settings = Settings()
    configure_logging(settings.log_level)
    log = logging.getLogger("hub.serve")
    if "public_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"public_url": served_url(host, port)})
        if workers > 1:  # the workers read their settings from the environment: the same URL
            os.environ["HUB_PUBLIC_URL"] = settings.public_url
        if host in ("0.0.0.0", "::"):  # noqa: S104 (comparing, not binding)
            log.warning(
                "serving on every address, but seal certificates will name %s: set HUB_PUBLIC_URL to "
                "the URL verifiers reach",
                settings.public_url,
            )
    state = prepared_state(settings)
    log.info("public URL (written into seal certificates): %s", settings.public_url)
    if workers > 1:
        if settings.limits.rate_storage_url.startswith("memory"):
            logging.getLogger("hub.ratelimit").warning(
                "rate limits are counted in each of the %d workers: a caller gets up to %d times each "
                "rate; set HUB_LIMITS__RATE_STORAGE_URL=redis://… to share the counts",
                workers,
                workers,
            )
        # Each worker builds its own state in the app's lifespan; the parent has migrated and
        # created the keys already, so the workers only open them.
        state.close()
        uvicorn.run(
            "hub.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=HTTPProtocol,
            log_config=None,
            access_log=False,
        )
        return
    uvicorn.run(
        create_app(state=state, checkpoints=True, warm_pdf_workers=True),
        host=host,
        port=port,
        http=HTTPProtocol,
        log_config=None,
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database schema to the latest migration."""
    from hub import migrate
    from hub.db import make_engine

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    migrate.upgrade(engine)
    typer.echo(f"database at revision {migrate.current(engine)}")


@orgs_app.command("add")
def orgs_add(
    code: Annotated[str, typer.Option("--code", help="统一社会信用代码 (USCC).")],
    name: Annotated[str, typer.Option("--name", help="Organization name.")],
    kind: Annotated[str, typer.Option("--kind", help="department | portal | operator")],
) -> None:
    """Register an organization (a department also gets its seal)."""
    from hub.services import register_organization
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            org = register_organization(state, session, code=code, name=name, kind=kind)
            print_json({"code": org.code, "name": org.name, "kind": org.kind})
    except DomainError as e:
        raise fail(e.detail) from None


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option("--name", help="A name for the client.")],
    org: Annotated[str | None, typer.Option("--org", help="USCC of the client's organization.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="An operator client with the admin role.")] = False,
) -> None:
    """Create an API client; prints its token once (only a hash is kept)."""
    from catalog.clients import create_client
    from kernel.db import unit_of_work

    if not admin and org is None:
        raise fail("give --org USCC or --admin")
    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            issued = create_client(session, state.token_hash_key, name=name, org_code=org, admin=admin)
    except DomainError as e:
        raise fail(e.detail) from None
    print_json({"client_id": issued.client_id, "token": issued.token})


@clients_app.command("revoke")
def clients_revoke(
    client_id: Annotated[str, typer.Argument(help="The client_id printed at creation.")],
) -> None:
    """Revoke an API client: its token is refused (401) from now on."""
    from catalog.clients import revoke_client
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            revoke_client(session, client_id)
    except DomainError as e:
        raise fail(e.detail) from None
    finally:
        state.close()
    print_json({"client_id": client_id, "revoked": True})


@dev_app.command("token")
def dev_token(
    kind: Annotated[str, typer.Option("--kind", help="111 (person) or 001 (organization).")],
    code: Annotated[str, typer.Option("--code", help="Identity number or USCC.")],
    name: Annotated[str, typer.Option("--name", help="Holder name.")],
) -> None:
    """Print a citizen JWT from the built-in development identity provider."""
    from hub.state import build_state

    state = build_state(Settings())
    if state.dev_idp is None:
        raise fail("the development identity provider is switched off (HUB_IDENTITY__DEV_PROVIDER=false)")
    if kind not in ("111", "001"):
        raise fail("--kind must be 111 or 001")
    typer.echo(state.dev_idp.token(kind, code, name))


app.command()(demo)
app.command()(verify)
app.add_typer(certificates_app, name="certificates")
app.add_typer(storage_app, name="storage")
app.add_typer(signatures_app, name="signatures")
app.add_typer(seals_app, name="seals")
app.add_typer(pki_app, name="pki")
app.add_typer(sharing_app, name="sharing")
app.add_typer(applications_app, name="applications")
app.add_typer(tasks_app, name="tasks")
app.add_typer(audit_app, name="audit")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except (ValidationError, SettingsError) as e:
        # Settings refused by the environment (HUB_MASTER_KEY missing, HUB_STORAGE__BACKEND=foo, a
        # bad HUB_LIMITS__… rate): one line naming each variable, instead of a traceback.
        typer.echo(f"error: {describe_refusal(e)}", err=True)
        sys.exit(2)
    except MissingExtra as e:
        # A backend the settings ask for is not installed (HUB_STORAGE__BACKEND=s3 without minio).
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)


__all__ = ["app", "main"]
