"""The demonstration catalog (示范市, fictitious organizations marked ``demo: true``)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["demo_catalog_path"]


def demo_catalog_path() -> Path:
    """Path of ``catalog.yaml``, loadable with :func:`catalog.catalogfile.load_catalog_file`."""
    resource = files(__name__).joinpath("catalog.yaml")
    # The package is installed as plain files (setuptools package-data); as_file is then a no-op.
    with as_file(resource) as path:
        return Path(path)
