"""Request body examples for the OpenAPI document, from the demo catalog (catalog/demo/catalog.yaml).

The demo citizen 林晓梅（演示） (310104199203154523) files 新生儿出生一件事 (OT-NEWBORN) through the
demo portal (12310000DEM000031R); the 卫健委 (11310000DEM0000131) issues the 出生医学证明 of
her daughter 林小满. Every example is a body its route's model accepts (tests/hub/test_openapi.py).

``PDF_BASE64`` is a real PDF (one empty A4 page, 316 bytes; tests/hostile.py ``plain()``) that the
upload check accepts. ``QR_PAYLOAD`` is a real code in the hub's format (docs/qr.md: ``EC1:``
base45, zlib, COSE_Sign1) for 林晓梅（演示）'s 居民身份证, signed once by an example key that no
hub trusts (kid QP5Kp38HrpY, thrown away): POST /api/v1/verify/qr answers it 200 with result
``invalid``, "signed with an unknown key". A code that verifies is signed by the hub's own QR key:
take it from a certificate the hub issued."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from catalog.schemas import CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn
from hub.routers.applications import ApplicationIn, BreachIn, DecisionIn, FulfilIn, RatingIn, SupplementIn
from hub.routers.certificates import BatchBody, CertificateBody, IssueBody, StatusBody
from hub.routers.me import ConsentIn
from hub.routers.organizations import OrganizationPut
from hub.routers.questionnaire import QuestionnaireIn
from hub.routers.sharing import CopyIn, LookupIn, PlanIn, VerifyDataIn
from hub.routers.verify import QRBody

# 林晓梅（演示）'s 居民身份证 (the 公安局's), as the hub identifies it (GB/T 36904).
ID_CARD = "1.2.156.3005.2.11310000DEM000012X001.11310000DEM000012X.3100002019004417.001.G"
PDF_BASE64 = (
    "JVBERi0xLjcKJeLjz9MKMSAwIG9iago8PC9UeXBlL0NhdGFsb2cvUGFnZXMgMiAwIFI+PgplbmRvYmoKMiAwIG9iago8PC9U"
    "eXBlL1BhZ2VzL0tpZHNbMyAwIFJdL0NvdW50IDE+PgplbmRvYmoKMyAwIG9iago8PC9UeXBlL1BhZ2UvUGFyZW50IDIgMCBS"
    "L01lZGlhQm94WzAgMCA1OTUgODQyXT4+CmVuZG9iagp4cmVmCjAgNAowMDAwMDAwMDAwIDY1NTM1IGYgCjAwMDAwMDAwMTUg"
    "MDAwMDAgbiAKMDAwMDAwMDA2MCAwMDAwMCBuIAowMDAwMDAwMTExIDAwMDAwIG4gCnRyYWlsZXIKPDwvU2l6ZSA0L1Jvb3Qg"
    "MSAwIFI+PgpzdGFydHhyZWYKMTc2CiUlRU9GCg=="
)
QR_PAYLOAD = (
    "EC1:NCFOXN%TSMAHN-HFYOE9KJTU37V%UQJT8+%5$%L%O6 O6DL69 6FL6646OT04W1BT1KCGK0PG.2 73OW8871EOK2128J4$M8"
    "6H0NI2WN8AZ7RH703JG6DY0L2SJGQVGQK+CVLI7U1ULTUFMP+CV.G7IZ4HOG3S4*7UF01$+GB-F28GJ6I/0QNI2S-CLUH9NS*J9"
    "B2N8BH8JR3.9IWK46SDUK L1:YJQ9B*.OQ3ASZRDAUEOJJJF$.6OWN30N2VDKILJ*M%FBZY028K2+C$PI1VQP28NCV/5PGXQF-I"
    "G-CGW3%8K$*0CI6 8B"
)

BIRTH_CERTIFICATE_ISSUANCE: dict[str, Any] = {
    "type_code": "11310000DEM0000131001",
    "holder": {"name": "林小满", "kind": "111", "code": "310104202506010011"},
    "external_id": "WJ-BIRTH-2025-000128",
    "issued_on": "2025-06-03",
    "valid_from": "2025-06-03",
    "area_code": "310104",
    "data": {
        "certificate_number": "T310000250001",
        "child_name": "林小满",
        "child_gender": "女",
        "birth_date": "2025-06-01",
        "birth_place": "示范市徐汇区",
        "mother_name": "林晓梅（演示）",
        "mother_id_number": "310104199203154523",
        "institution": "示范市妇幼保健院（演示）",
    },
}


EXAMPLES: dict[type[BaseModel], list[dict[str, Any]]] = {
    OrganizationPut: [{"name": "示范市卫生健康委员会（演示）", "kind": "department", "demo": True}],
    CertificateTypeIn: [
        {
            "name": "出生医学证明",
            "holder_kind": "111",
            "issuers": ["11310000DEM0000131"],
            "sharing": "conditional",
            "validity_years": None,
            "description": "新生儿出生医学证明，由助产机构签发；持证人为新生儿。",
            "keywords": ["出生证", "出生证明", "新生儿"],
            "fields": [
                {
                    "name": "certificate_number",
                    "label": "出生医学证明编号",
                    "type": "string",
                    "required": True,
                },
                {"name": "child_name", "label": "新生儿姓名", "type": "string", "required": True},
                {"name": "birth_date", "label": "出生日期", "type": "date", "required": True},
                {
                    "name": "mother_id_number",
                    "label": "母亲有效身份证件号码",
                    "type": "string",
                    "required": True,
                    "personal": True,
                },
            ],
        }
    ],
    DataResourceIn: [
        {
            "name": "人口户籍信息",
            "org": "11310000DEM000012X",
            "sharing": "conditional",
            "update_frequency": "daily",
            "keywords": ["户籍", "人口"],
            "fields": [
                {"name": "id_number", "label": "公民身份号码", "type": "identity_number", "required": True},
                {"name": "name", "label": "姓名", "type": "string", "required": True},
                {"name": "household_address", "label": "户籍地址", "type": "string", "required": True},
            ],
        }
    ],
    ItemIn: [
        {
            "name": "出生医学证明办理",
            "org": "11310000DEM0000131",
            "keywords": ["出生证", "新生儿"],
            "time_limit_days": 5,
            "review": "manual",
            "materials": [
                {
                    "code": "M01",
                    "name": "母亲身份证明",
                    "required": True,
                    "certificate_types": ["11310000DEM000012X001"],
                },
                {"code": "M03", "name": "新生儿姓名确认书", "required": True},
                {
                    "code": "M04",
                    "name": "父母婚姻状况证明",
                    "required": True,
                    "commitment": True,
                    "commitment_days": 30,
                },
            ],
            "form": [
                {
                    "name": "mother_name",
                    "label": "母亲姓名",
                    "from": {"type_code": "11310000DEM000012X001", "field": "name"},
                },
                {"name": "child_name", "label": "新生儿姓名", "required": True},
            ],
        }
    ],
    OneThingIn: [
        {
            "name": "新生儿出生一件事",
            "description": "新生儿出生医学证明、预防接种证等，一次办理。",
            "keywords": ["出生", "新生儿"],
            "items": ["WJ-BIRTH-CERTIFICATE", "WJ-VACCINATION"],
            "questions": [
                {
                    "id": "hukou",
                    "text": "新生儿是否在本市申报户口？",
                    "options": [
                        {"value": "local", "label": "是，在本市落户", "add_items": ["GA-BIRTH-HUKOU"]},
                        {"value": "elsewhere", "label": "否，回户籍地落户"},
                    ],
                },
                {
                    "id": "mother_insured",
                    "text": "母亲是否参加本市职工基本医疗保险（生育保险）？",
                    "options": [{"value": "yes", "label": "是"}, {"value": "no", "label": "否"}],
                },
            ],
        }
    ],
    QuestionnaireIn: [{"answers": {"hukou": "elsewhere", "mother_insured": "no"}}],
    CertificateBody: [
        {
            "external_id": "WJ-BIRTH-2025-000128-v2",
            "issued_on": "2025-06-03",
            "valid_from": "2025-06-03",
            "area_code": "310104",
            "data": {
                "certificate_number": "T310000250001",
                "child_name": "林小满",
                "child_gender": "女",
                "birth_date": "2025-06-01",
                "birth_place": "示范市徐汇区枫林路",
                "mother_name": "林晓梅（演示）",
                "mother_id_number": "310104199203154523",
                "institution": "示范市妇幼保健院（演示）",
            },
        }
    ],
    IssueBody: [BIRTH_CERTIFICATE_ISSUANCE],
    BatchBody: [{"items": [BIRTH_CERTIFICATE_ISSUANCE]}],
    StatusBody: [{"status": "02", "reason": "出生医学证明信息核查中，暂扣"}],
    LookupIn: [
        {
            "holder": {"kind": "111", "code": "310104199203154523"},
            "item_code": "WJ-VACCINATION",
            "use_cause": "办理新生儿出生一件事",
            "type_codes": ["11310000DEM0000131001"],
        }
    ],
    PlanIn: [
        {
            "holder": {"kind": "111", "code": "310104199203154523"},
            "use_cause": "办理新生儿出生一件事",
            "one_thing": "OT-NEWBORN",
            "answers": {"hukou": "elsewhere", "mother_insured": "no"},
        }
    ],
    CopyIn: [
        {
            "certificate_id": ID_CARD,
            "item_code": "WJ-BIRTH-CERTIFICATE",
            "use_cause": "办理新生儿出生一件事",
        }
    ],
    VerifyDataIn: [
        {
            "certificate_id": ID_CARD,
            "item_code": "WJ-BIRTH-CERTIFICATE",
            "use_cause": "办理新生儿出生一件事",
            "data": {"name": "林晓梅（演示）"},
        }
    ],
    ApplicationIn: [
        {
            "one_thing": "OT-NEWBORN",
            "answers": {"hukou": "elsewhere", "mother_insured": "no"},
            "holder": {"kind": "111", "code": "310104199203154523", "name": "林晓梅（演示）"},
            "use_cause": "办理新生儿出生一件事",
            "external_id": "portal-2025-0001",
            "form": {
                "WJ-BIRTH-CERTIFICATE": {"child_name": "林小满"},
                "WJ-VACCINATION": {"vaccination_unit": "示范市徐汇区社区卫生服务中心（演示）"},
            },
            "materials": [
                {"item_code": "WJ-BIRTH-CERTIFICATE", "code": "M03", "file": PDF_BASE64},
                {"item_code": "WJ-BIRTH-CERTIFICATE", "code": "M04", "commitment": True},
            ],
        }
    ],
    SupplementIn: [{"materials": [{"item_code": "WJ-BIRTH-CERTIFICATE", "code": "M03", "file": PDF_BASE64}]}],
    RatingIn: [{"score": 5, "comment": "一次办好"}],
    DecisionIn: [
        {"decision": "approve"},
        {"decision": "supplement", "reason": "新生儿姓名确认书未签名，请补正", "requested": ["M03"]},
    ],
    FulfilIn: [
        {"certificate_id": "1.2.156.3005.2.11310000DEM0000144001.11310000DEM0000144.3100002016000342.001.K"}
    ],
    BreachIn: [{"reason": "逾期未提交父母婚姻状况证明"}],
    ConsentIn: [
        {
            "grantee": "12310000DEM000031R",
            "item_code": "WJ-VACCINATION",
            "type_codes": ["11310000DEM0000131001"],
            "expires_at": "2025-12-31T16:00:00Z",
        }
    ],
    QRBody: [{"payload": QR_PAYLOAD}],
}
