"""Optional backends and the pyproject extras that install them: a setting that asks for a backend
whose packages are missing is refused in one line naming the extra, not with an ImportError."""

from __future__ import annotations

import importlib

# extra -> (the package it installs that the backend imports, the setting that asks for the backend)
EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("minio", "HUB_STORAGE__BACKEND=s3"),
    "elasticsearch": ("elasticsearch", "HUB_SEARCH__BACKEND=elasticsearch"),
    "pkcs11": ("pkcs11", "HUB_SIGNING__KEYSTORE=pkcs11"),
}


class MissingExtra(RuntimeError):
    """A setting asks for an optional backend whose extra is not installed."""


def require_extra(extra: str) -> None:
    """Raise ``MissingExtra`` unless the packages of ``extra`` can be imported."""
    module, setting = EXTRAS[extra]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        if exc.name != module:  # the package is there but broken: not a missing extra
            raise
        raise MissingExtra(f"{setting} needs the {extra} extra: pip install 'hub[{extra}]'") from exc
