"""Only the hub's operators write the catalog (catalog/access.py)."""

from __future__ import annotations

import pytest

from catalog.access import check_may_edit
from kernel.actor import Actor, Citizen, Role
from kernel.errors import Forbidden


def test_an_admin_edits_the_catalog() -> None:
    admin = Actor(Role.ADMIN, client_id="a")
    assert check_may_edit(admin) is admin


@pytest.mark.parametrize(
    "actor",
    [
        Actor(Role.DEPARTMENT, client_id="b", org_code="11310000MB00000017"),
        Actor(Role.PORTAL, client_id="c", org_code="12310000MB00000033"),
        Actor.for_citizen(Citizen("111", "110101199003074514", "张三")),
    ],
)
def test_nobody_else_does(actor: Actor) -> None:
    with pytest.raises(Forbidden) as e:
        check_may_edit(actor)
    assert e.value.code == "forbidden"
