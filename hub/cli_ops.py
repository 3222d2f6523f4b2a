"""Operator commands: demo data, verification, expiry, storage GC, signature upgrades, seals."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli_support import fail, prepared_state, print_json
from hub.settings import Settings
from kernel.errors import DomainError

if TYPE_CHECKING:
    from certificates.requests import Holder
    from hub.state import HubState
    from signing.trust import TrustList

certificates_app = typer.Typer(help="Certificates (电子证照).", no_args_is_help=True)
storage_app = typer.Typer(help="Object storage.", no_args_is_help=True)
signatures_app = typer.Typer(help="Signatures on stored files.", no_args_is_help=True)
seals_app = typer.Typer(help="Department seals (电子印章).", no_args_is_help=True)


def demo(
    certificates: Annotated[int, typer.Option(help="How many demo certificates to issue.")] = 300,
) -> None:
    """Load the demonstration catalog and certificates, and print where to look and the tokens to
    try it with. Idempotent: a second run adds nothing and prints the same API tokens."""
    from catalog.catalogfile import SECTIONS
    from catalog.search import follow_commits
    from catalog.service import DatabaseLookup, demo_bundle, load_bundle
    from certificates.repository import first_of_issuer
    from hub.demo import (
        DEMO_CITIZEN,
        DEMO_HEALTH,
        demo_client,
        grant_demo_consents,
        issue_demo_certificates,
        issue_demo_citizen,
    )
    from hub.progress import phase
    from hub.services import register_organization
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with (
            phase("catalog: loading the demo catalog and its departments' seals"),
            unit_of_work(state.sessions) as session,
        ):
            if state.search is not None:
                follow_commits(session, state.search)
            bundle = demo_bundle(DatabaseLookup(session))
            load_bundle(
                session, bundle, put_organization=lambda s, **org: register_organization(state, s, **org)
            )
        entries = sum(len(getattr(bundle, section)) for section in SECTIONS)
        typer.echo(f"catalog: {entries} entries", err=True)
        with phase("certificates: issuing and sealing") as report, unit_of_work(state.sessions) as session:
            issue = issue_demo_certificates(state, session, count=certificates, progress=report)
        typer.echo(f"certificates: {issue.created} issued", err=True)
        with phase("citizen: her certificates and consents"), unit_of_work(state.sessions) as session:
            citizen_certificates = issue_demo_citizen(state, session)
            grant_demo_consents(state, session, now=state.clock())
        with unit_of_work(state.sessions) as session:
            orgs = dict(bundle.organizations.items())
            dept = next(code for code, o in orgs.items() if o.kind == "department")
            portal = next(code for code, o in orgs.items() if o.kind == "portal")
            departments = [dept] + [DEMO_HEALTH] * (DEMO_HEALTH in orgs and DEMO_HEALTH != dept)
            clients = {
                "admin": demo_client(state, session, name="demo admin", org_code=None, admin=True),
                "portal": demo_client(state, session, name="demo portal", org_code=portal),
            }
            for code in departments:
                clients[code] = demo_client(state, session, name=f"demo {orgs[code].name}", org_code=code)
            sample = first_of_issuer(session, dept)
            example = None
            if sample is not None:
                example = {
                    "id": sample.id,
                    "holder": sample.holder_name,
                    "verification_code": state.vault.decrypt(
                        sample.verification_code_enc, purpose=b"verification"
                    ),
                    "file": f"{state.settings.public_url}/api/v1/certificates/{sample.id}/file",
                }
        jwt = _citizen_tokens(state)
    finally:
        state.close()
    for c in clients.values():
        if c.revoked:
            typer.echo(
                f"warning: demo client {c.client_id} ({c.name}) was revoked: its token is refused", err=True
            )
    tokens = {
        "admin": clients["admin"].token,
        "department": clients[dept].token,
        "portal": clients["portal"].token,
    }
    if DEMO_HEALTH in clients:
        tokens["health"] = clients[DEMO_HEALTH].token
    url = state.settings.public_url
    portal_token = tokens["portal"]
    holder = {"kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code}
    citizen: dict[str, object] = {
        "name": DEMO_CITIZEN.name,
        "holder_kind": DEMO_CITIZEN.kind,
        "holder_code": DEMO_CITIZEN.code,
        "certificates": citizen_certificates,
        "token": f".venv/bin/hub dev token --kind {DEMO_CITIZEN.kind} --code {DEMO_CITIZEN.code} "
        f"--name {DEMO_CITIZEN.name}",
    }
    held = [(h, ids) for h, ids in issue.held.items() if ids]
    persons = [_holder_out(DEMO_CITIZEN, citizen_certificates, jwt)]
    citizen["jwt"] = persons[0]["jwt"]
    persons += [_holder_out(h, ids, jwt) for h, ids in held if h.kind == "111"][:DEMO_HOLDERS_SHOWN]
    companies = [_holder_out(h, ids, jwt) for h, ids in held if h.kind == "001"][:DEMO_HOLDERS_SHOWN]
    lookup = {"holder": holder, "item_code": "WJ-BIRTH-CERTIFICATE", "use_cause": "办理出生医学证明"}
    plan = {
        "holder": holder,
        "use_cause": "办理新生儿出生一件事",
        "one_thing": "OT-NEWBORN",
        "answers": {"hukou": "elsewhere", "mother_insured": "no"},
    }
    sharing = {
        "lookup": _curl(f"{url}/api/v1/sharing/lookup", portal_token, lookup),
        "plan": _curl(f"{url}/api/v1/sharing/plan", portal_token, plan),
    }
    print_json(
        {
            "site": f"{url}/",  # the pages: search, guides, verification, /me (sign in as the demo citizen)
            "api_docs": f"{url}/docs",
            "search": f"{url}/api/v1/search?q=执照",
            "trust_list": f"{url}/api/v1/trust",
            "tokens": tokens,
            "clients": [
                {
                    "client_id": c.client_id,
                    "name": c.name,
                    "org": c.org_code,
                    "role": c.role,
                    "token": c.token,
                }
                for c in clients.values()
            ],
            "department": dept,
            "example_certificate": example,
            "citizen": citizen,
            "persons": persons,
            "companies": companies,
            "sharing": sharing,
        }
    )


# How many of the demo's persons and companies ``hub demo`` prints (besides the demo citizen).
DEMO_HOLDERS_SHOWN = 5


def _citizen_tokens(state: HubState) -> Callable[[str, str, str], str | None]:
    """Signs citizen JWTs as ``hub dev token`` does; None for each when the dev provider is off."""
    idp = state.dev_idp
    return (lambda kind, code, name: None) if idp is None else idp.token


def _holder_out(
    holder: Holder, ids: list[str], jwt: Callable[[str, str, str], str | None]
) -> dict[str, object]:
    return {
        "name": holder.name,
        "kind": holder.kind,
        "code": holder.code,
        "certificates": ids,
        "jwt": jwt(holder.kind, holder.code, holder.name),
    }


def verify(
    file: Annotated[Path | None, typer.Argument(help="A certificate PDF.")] = None,
    qr: Annotated[str | None, typer.Option("--qr", help="The text of a certificate's QR code.")] = None,
    trust: Annotated[
        Path | None, typer.Option("--trust", help="A trust list file: a hub's GET /api/v1/trust.")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="A hub whose trust list to fetch (https://hub.example).")
    ] = None,
) -> None:
    """Verify offline, as JSON, against a trust list (--trust FILE or --url HUB) — or, run inside a
    hub's data directory without either, against that hub's PKI and registry. Creates nothing.
    Exit status 0 when valid, 1 otherwise, 2 when it cannot check (no file, no trust list)."""
    if trust is not None and url is not None:
        raise fail("give --trust FILE or --url URL, not both", 2)
    if qr is not None:
        _verify_qr_offline(qr, _trust_list(trust, url, required="--qr"))
        return
    if file is None:
        raise fail("give FILE.pdf, or --qr TEXT --trust trust.json", 2)
    if not file.is_file():
        raise fail(f"{file}: no such file", 2)
    data = file.read_bytes()
    if trust is None and url is None:
        settings = Settings()
        if not _inside_a_hub(settings):
            raise fail(
                "no trust list: give --trust trust.json (a hub's GET /api/v1/trust) or --url https://hub…, "
                f"or run inside a hub's data directory (none at {settings.data_dir})",
                2,
            )
        _verify_with_this_hub(data)
        return
    from hub.offline_verify import verify_offline

    out = verify_offline(data, _trust_list(trust, url, required="FILE"), datetime.now(UTC).date())
    print_json(out)
    raise typer.Exit(0 if out["result"] == "valid" else 1)


def _inside_a_hub(settings: Settings) -> bool:
    """Whether the settings point at a hub that exists: its PKI, its master key and (embedded) its
    database are there. ``hub verify`` then uses them; it never creates them."""
    if not (settings.pki_directory / "issuing.crt.pem").is_file():
        return False
    if settings.master_key is None and not (settings.data_dir / "master.key").is_file():
        return False
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        return bool(database) and Path(str(database)).is_file()
    return True


def _verify_with_this_hub(data: bytes) -> None:
    """Against the hub the settings point at (its PKI, its registry), without migrating anything."""
    from certificates.verification import verify_pdf
    from hub.routers.verify import verification_out
    from hub.state import build_state
    from kernel.db import unit_of_work

    state = build_state(Settings())
    try:
        with unit_of_work(state.sessions) as session:
            out = verification_out(
                verify_pdf(
                    session,
                    data,
                    state.signing.validate(session, data),
                    state.today(),
                    copy_sealer=state.settings.signing.operator_code,
                )
            )
    finally:
        state.close()
    typer.echo(out.model_dump_json(indent=2))
    raise typer.Exit(0 if out.result == "valid" else 1)


def _trust_list(trust: Path | None, url: str | None, *, required: str) -> TrustList:
    """The trust list from ``--trust FILE`` or ``--url HUB``; exit 2 saying why when there is none."""
    from hub.offline_verify import TrustSourceError, fetch_trust_list
    from signing.trust import TrustList, TrustListError

    try:
        if url is not None:
            return fetch_trust_list(url)
        if trust is None:
            raise fail(f"{required} needs --trust FILE (a hub's GET /api/v1/trust) or --url https://hub…", 2)
        if not trust.is_file():
            raise fail(f"{trust}: no such file", 2)
        return TrustList.from_json(trust.read_bytes())
    except (TrustListError, TrustSourceError) as e:
        raise fail(f"{e}", 2) from None


def _verify_qr_offline(text: str, trust: TrustList) -> None:
    from signing.qr.verify import decode_and_verify

    checked = decode_and_verify(text, trust, datetime.now(UTC))
    claims = checked.claims
    print_json(
        {
            "result": "valid" if checked.valid else "invalid",
            "certificate": None
            if claims is None
            else {
                "id": claims.identifier,
                "type_code": claims.type_code,
                "issuer_code": claims.issuer_code,
                "holder_name": claims.holder_name,
                "valid_from": claims.valid_from.isoformat(),
                "valid_until": claims.valid_until.isoformat() if claims.valid_until else None,
                "issued_at": claims.issued_at.isoformat(),
            },
            "kid": checked.kid,
            "problems": list(checked.problems),
            "note": "checked offline against the trust list; the certificate's current status needs the hub",
        }
    )
    raise typer.Exit(0 if checked.valid else 1)


@certificates_app.command("expire")
def certificates_expire() -> None:
    """Record status 05 for every certificate whose validity has ended."""
    from certificates.status import expire_due
    from hub.progress import phase
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with (
            phase("certificates: expiring those past their validity") as report,
            unit_of_work(state.sessions) as session,
        ):
            n = expire_due(session, today=state.today(), progress=report)
    finally:
        state.close()
    print_json({"expired": n})


@certificates_app.command("protect")
def certificates_protect() -> None:
    """Seal personal face values still stored in clear (certificates from before personal fields
    were sealed, or whose type has since marked a field personal)."""
    from audit.log import Event
    from audit.log import record as audit_record
    from catalog.queries import personal_fields_by_type
    from certificates.personal import protect_stored
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            n = protect_stored(session, state.vault, personal_fields_by_type(session))
            if n:
                event = Event(action="certificates.protect", actor="operator", details={"count": n})
                audit_record(session, event)
    finally:
        state.close()
    print_json({"protected": n})


@storage_app.command("gc")
def storage_gc(
    grace: Annotated[
        int | None, typer.Option(help="Seconds an unreferenced blob survives (default from settings).")
    ] = None,
) -> None:
    """Remove blobs that no certificate points to and that are older than the grace period."""
    from hub.progress import phase
    from hub.services import collect_garbage

    state = prepared_state()
    try:
        seconds = grace if grace is not None else state.settings.storage.gc_grace_seconds
        with phase("storage: looking for files nothing points to") as report:
            removed = collect_garbage(
                state, cutoff=datetime.now(UTC) - timedelta(seconds=seconds), progress=report
            )
    except DomainError as e:
        raise fail(f"{e.detail}", 1) from None
    finally:
        state.close()
    print_json({"removed": removed})


@storage_app.command("encrypt")
def storage_encrypt() -> None:
    """Seal every stored file that is still in clear (stored before encryption at rest); idempotent."""
    from certificates.maintenance import seal_stored_files
    from hub.progress import phase

    state = prepared_state()
    try:
        with phase("storage: sealing files stored in clear") as report:
            n = seal_stored_files(state.blobs, progress=report)
    except DomainError as e:
        raise fail(f"{e.detail}", 1) from None
    finally:
        state.close()
    print_json({"files": n})


@signatures_app.command("upgrade")
def signatures_upgrade() -> None:
    """Raise stored files below the configured PAdES level (e.g. sealed while the TSA was down)."""
    from hub.progress import phase
    from hub.services import upgrade_signatures

    state = prepared_state()
    try:
        with phase(f"signatures: raising stored files to {state.settings.signing.level}") as report:
            done, failed = upgrade_signatures(state, progress=report)
    finally:
        state.close()
    print_json({"upgraded": done, "failed": failed, "level": state.settings.signing.level})
    if failed:
        sys.exit(1)


@seals_app.command("revoke")
def seals_revoke(
    org: Annotated[str, typer.Option("--org", help="USCC of the department.")],
    reason: Annotated[str, typer.Option(help="RFC 5280 reason, e.g. key_compromise.")] = "key_compromise",
) -> None:
    """Revoke a department's seal certificate (its signatures after now no longer validate)."""
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            seal = state.signing.revoke_seal(session, org, reason)
            print_json({"org": org, "serial": seal.serial_number, "revoked_at": seal.revoked_at})
    except DomainError as e:
        raise fail(f"{e.detail}", 2) from None
    finally:
        state.close()


pki_app = typer.Typer(help="The hub's PKI.", no_args_is_help=True)


@pki_app.command("import")
def pki_import(
    cert: Annotated[Path, typer.Option("--cert", help="The CA certificate (PEM).")],
    key: Annotated[Path, typer.Option("--key", help="The CA private key (PEM, PKCS#8 or traditional).")],
    chain: Annotated[Path | None, typer.Option("--chain", help="Certificates above the CA (PEM).")] = None,
    key_password: Annotated[
        str | None,
        typer.Option("--key-password", envvar="HUB_IMPORT_KEY_PASSWORD", help="If the key is encrypted."),
    ] = None,
) -> None:
    """Use an existing CA instead of creating one (before the first start: the PKI directory is empty)."""
    from hub.settings import load_master_key
    from signing.pki.authority import HubPKI

    settings = Settings()
    try:
        pki = HubPKI.import_ca(
            settings.pki_directory,
            load_master_key(settings),
            ca_cert_pem=cert.read_bytes(),
            ca_key_pem=key.read_bytes(),
            ca_key_password=key_password.encode() if key_password else None,
            chain_pem=chain.read_bytes() if chain else b"",
            org_name=settings.signing.ca_name,
            base_url=settings.public_url,
        )
    except Exception as e:  # a wrong password, a non-CA certificate, a PKI already there …
        raise fail(f"{e}", 2) from None
    print_json(
        {"issuing_ca": pki.issuing_cert.subject.human_friendly, "directory": str(settings.pki_directory)}
    )


def _curl(url: str, token: str, body: object) -> str:
    """A ready-to-paste curl call posting ``body`` as JSON."""
    import json

    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"curl -s -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{data}' {url}"
