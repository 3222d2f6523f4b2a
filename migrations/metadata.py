"""Every table of every domain package, registered on one ``MetaData`` for Alembic and the drift check.

Gathered here, below the hub, so the migrations never import the HTTP service."""

from __future__ import annotations

import applications.models
import audit.models
import catalog.models
import certificates.models
import sharing.models
from kernel.db import Base

MODEL_MODULES = (applications.models, audit.models, catalog.models, certificates.models, sharing.models)
metadata = Base.metadata
