"""``hub catalog load FILE`` and ``hub search reindex``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli_support import fail, prepared_state, print_json
from kernel.errors import DomainError, ValidationFailed

catalog_app = typer.Typer(help="The catalog (目录).", no_args_is_help=True)
search_app = typer.Typer(help="The catalog's search index.", no_args_is_help=True)


@catalog_app.command("load")
def catalog_load(
    file: Annotated[Path, typer.Argument(help="A JSON or YAML catalog file.", show_default=False)],
) -> None:
    """Load organizations, certificate types, data resources, items and one-things from a file.

    The whole file is checked first; a bad entry rejects the file (exit 2) and nothing is written.
    Entries already as in the file are left alone, so loading a file twice changes nothing.
    """
    from catalog.catalogfile import load_catalog_file
    from catalog.search import follow_commits
    from catalog.service import DatabaseLookup, load_bundle
    from hub.services import register_organization
    from kernel.db import unit_of_work

    if not file.is_file():
        raise fail(f"{file}: no such file")
    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            if state.search is not None:
                follow_commits(session, state.search)
            bundle = load_catalog_file(file, existing=DatabaseLookup(session))

            def put_organization(session: Any, **org: Any) -> Any:
                return register_organization(state, session, **org)

            report = load_bundle(session, bundle, put_organization=put_organization)
    except ValidationFailed as e:
        raise fail(e.detail) from None
    except DomainError as e:
        raise fail(e.detail, code=1) from None
    finally:
        state.close()
    print_json({"file": str(file), "changed": report.changed, "sections": report.counts})


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from the catalog in the database."""
    from catalog.search import EmbeddedSearchIndex
    from catalog.service import all_search_documents
    from hub.progress import phase, reporting
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            with phase("search: reading the catalog"):
                docs = all_search_documents(session)
            # The embedded index is always kept (it is the database's own copy); an external one too.
            with phase("search: indexing in the database") as report:
                EmbeddedSearchIndex(session).rebuild(reporting(docs, report))
        if state.search is not None:
            with phase("search: indexing in Elasticsearch") as report:
                state.search.rebuild(reporting(docs, report))
    except DomainError as e:
        raise fail(e.detail, code=1) from None
    finally:
        state.close()
    backend = "elasticsearch" if state.search is not None else "embedded"
    print_json({"indexed": len(docs), "backend": backend})
