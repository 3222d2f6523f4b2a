"""Every table of every domain package, registered on one ``MetaData`` for Alembic and the drift check.

Gathered here, below the hub, so the migrations never import the HTTP service."""

from __future__ import annotations

import catalog.models
import certificates.models
from kernel.db import Base

MODEL_MODULES = (catalog.models, certificates.models)
metadata = Base.metadata
