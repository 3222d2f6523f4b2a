"""Every table of every package, registered on one ``MetaData`` for Alembic and the drift check."""

from __future__ import annotations

import catalog.models
import certificates.models
import hub.models
from catalog.db import Base

MODEL_MODULES = (catalog.models, certificates.models, hub.models)
metadata = Base.metadata
