"""The query and path parameters that recur across routers, each with its description in the
OpenAPI document. Names, defaults and constraints stay with the routes; these only say what the
parameter is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

CertificateId = Annotated[
    str,
    Path(description="the certificate's identifier (证照标识, GB/T 36904), as issued: 1.2.156.3005.2.…"),
]
ApplicationId = Annotated[str, Path(description="the application's id, as answered when it was filed")]
TaskId = Annotated[str, Path(description="the department's task (审批任务), by its id in the task list")]
CommitmentId = Annotated[str, Path(description="the commitment (告知承诺), by its id in the commitment list")]
ConsentId = Annotated[str, Path(description="the consent (授权), by its id in the holder's consent list")]
Uscc = Annotated[str, Path(description="the organization's 统一社会信用代码 (USCC, 18 characters)")]
OneThingCode = Annotated[str, Path(description="the one-thing (一件事), by its code: OT-NEWBORN")]

# Pages: how many entries at most (the limits differ by route) and how many to skip.
PageSize = Annotated[int, Query(ge=1, le=200, description="page size: at most this many entries (1–200)")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="entries to skip")]  # beyond: OverflowError
