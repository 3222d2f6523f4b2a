"""What the application tests share: the demo world with its consents, the 新生儿出生一件事
application a portal files for the demo citizen, and the callers' headers."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.demo import DEMO_CITIZEN, grant_demo_consents
from hub.state import HubState
from tests.factories import bearer, client_token
from tests.hostile import plain
from tests.sharing.demo_world import DemoWorld, load_demo_world

HEALTH = "11310000DEM0000131"  # 卫健委: both items of the story
POLICE = "11310000DEM000012X"  # 公安局: no task in it
BIRTH_ITEM = "WJ-BIRTH-CERTIFICATE"  # manual; a commitment for M04
VACCINATION_ITEM = "WJ-VACCINATION"  # auto; issues the 预防接种证
VACCINATION_CARD = "11310000DEM0000131002"
CAUSE = "办理新生儿出生一件事"


def pdf_b64() -> str:
    return base64.b64encode(plain()).decode()


def application(external_id: str = "portal-0001", **over: Any) -> dict[str, Any]:
    """The demo citizen's application for 新生儿出生一件事 (her child registered elsewhere)."""
    body: dict[str, Any] = {
        "one_thing": "OT-NEWBORN",
        "answers": {"hukou": "elsewhere", "mother_insured": "no"},
        "holder": {"kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code, "name": DEMO_CITIZEN.name},
        "use_cause": CAUSE,
        "external_id": external_id,
        "form": {
            BIRTH_ITEM: {"child_name": "林小满"},
            VACCINATION_ITEM: {"vaccination_unit": "示范市徐汇区社区卫生服务中心（演示）"},
        },
        "materials": [
            {"item_code": BIRTH_ITEM, "code": "M03", "file": pdf_b64()},
            {"item_code": BIRTH_ITEM, "code": "M04", "commitment": True},
        ],
    }
    body.update(over)
    return body


@dataclass(frozen=True)
class Story:
    world: DemoWorld
    portal: dict[str, str]
    citizen: dict[str, str]
    health: dict[str, str]  # the department both tasks go to
    police: dict[str, str]  # a department with no task in it
    admin: dict[str, str]
    other_portal: dict[str, str]
    other_citizen: dict[str, str]

    @property
    def marriage_certificate(self) -> str:
        return self.world.certificates[2]


def load_story(state: HubState, session: Session) -> Story:
    world = load_demo_world(state, session)
    grant_demo_consents(state, session, now=datetime.now(UTC))
    session.flush()
    return Story(
        world=world,
        portal=bearer(world.portal_token),
        citizen=bearer(world.citizen_token),
        health=bearer(world.department_token),
        police=bearer(client_token(state, session, org=POLICE)),
        admin=bearer(client_token(state, session, admin=True)),
        other_portal=bearer(world.other_portal_token),
        other_citizen=bearer(world.other_citizen_token),
    )
