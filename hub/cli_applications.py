"""``hub applications`` and ``hub tasks``: what an operator asks of applications, and finishing the
ones whose certificates could not be issued at approval (storage down)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli_support import fail, prepared_state, print_json

applications_app = typer.Typer(help="Applications (一件事): list, show, complete.", no_args_is_help=True)
tasks_app = typer.Typer(help="Review tasks of the departments.", no_args_is_help=True)


@applications_app.command("list")
def list_(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only these statuses (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
) -> None:
    """Applications, newest first, with their tasks' statuses (holder codes masked)."""
    from applications.repository import list_applications, tasks_of
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with unit_of_work(state.read_sessions) as session:
            rows = [
                {
                    "id": app.id,
                    "one_thing": app.one_thing,
                    "status": app.status,
                    "portal": app.portal_code,
                    "submitted_at": app.submitted_at,
                    "tasks": {t.item_code: t.status for t in tasks_of(session, app.id)},
                }
                for app in list_applications(session, statuses=status or [], limit=limit)
            ]
    finally:
        state.close()
    print_json({"applications": rows})


@applications_app.command("show")
def show(application_id: Annotated[str, typer.Argument(help="The application's id.")]) -> None:
    """One application as an operator sees it (holder code masked, no form)."""
    from applications.errors import ApplicationNotFound
    from applications.views import view_application
    from hub.routers.applications import application_out
    from kernel.actor import Actor, Role
    from kernel.db import unit_of_work

    state = prepared_state()
    try:
        with unit_of_work(state.read_sessions) as session:
            view = view_application(
                session, state.vault, actor=Actor(Role.ADMIN), application_id=application_id
            )
            out = application_out(view, state.clock())
    except ApplicationNotFound:
        raise fail(f"no application {application_id}", 1) from None
    finally:
        state.close()
    print_json(out.model_dump(mode="json"))


@applications_app.command("complete")
def complete(
    application_id: Annotated[
        str | None, typer.Argument(help="One application; default: every one waiting.")
    ] = None,
) -> None:
    """Issue the certificates of approved applications and mark them completed (统一发证). Safe to rerun:
    nothing is issued twice. Exit 1 when any is still not completed."""
    from rich.progress import Progress

    from applications.completion import awaiting_completion
    from hub.services import complete_application
    from kernel.db import unit_of_work

    state = prepared_state()
    results = []
    try:
        if application_id is None:
            with unit_of_work(state.read_sessions) as session:
                waiting = awaiting_completion(session, limit=100_000)
        else:
            waiting = [application_id]
        with Progress(transient=True, disable=len(waiting) < 2) as progress:
            task = progress.add_task("completing applications", total=len(waiting))
            for app_id in waiting:
                try:
                    done = complete_application(state, app_id)
                    results.append({"id": app_id, "status": done.status, "issued": done.issued})
                except Exception as e:
                    results.append({"id": app_id, "status": "approved", "error": f"{type(e).__name__}: {e}"})
                progress.advance(task)
    finally:
        state.close()
    print_json({"applications": results})
    if any(r["status"] == "approved" for r in results):
        raise typer.Exit(1)


@tasks_app.command("list")
def tasks(
    org: Annotated[str, typer.Option("--org", help="The department's USCC.")],
    status: Annotated[str | None, typer.Option("--status", help="pending, approved, rejected …")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only undecided tasks past their due date.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
) -> None:
    """A department's review tasks, the soonest due first."""
    from applications.views import list_tasks
    from hub.routers.applications import task_out
    from kernel.actor import Actor, Role
    from kernel.db import unit_of_work
    from kernel.errors import DomainError

    state = prepared_state()
    try:
        now = state.clock()
        with unit_of_work(state.read_sessions) as session:
            rows = list_tasks(
                session,
                actor=Actor(Role.DEPARTMENT, org_code=org),
                status=status,
                overdue=overdue,
                now=now,
                limit=limit,
                offset=0,
            )
            out = [
                {**task_out(r.task, now).model_dump(mode="json"), "one_thing": r.application.one_thing}
                for r in rows
            ]
    except DomainError as e:
        raise fail(e.detail) from None
    finally:
        state.close()
    print_json({"tasks": out})
