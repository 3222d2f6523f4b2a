"""Catalog files (``hub catalog load FILE``): JSON or YAML holding whole sections of the catalog.

::

    organizations:     [{code, name, kind, demo}]
    certificate_types: [{code, <PUT /certificate-types body>}]
    data_resources:    [{code, <PUT /data-resources body>}]
    items:             [{code, <PUT /items body>}]
    one_things:        [{code, <PUT /one-things body>}]

Every section is optional. The whole file is validated before anything is returned: each entry
against its schema, then its references in dependency order (an entry may refer to entries of the
same file or, through ``existing``, to what the database already holds). Nothing is written here;
the caller writes the :class:`CatalogBundle` in one transaction.

Errors name the section, the entry's index and code and, for YAML, the line of the entry and of
the field at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from catalog.codes import catalog_code_valid, type_code_valid
from catalog.errors import BodyInvalid, CatalogFileInvalid, PathError
from catalog.references import CatalogLookup, CertificateTypeView, check_references
from catalog.schemas import CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn, OrganizationIn
from catalog.validation import format_loc, validate_body
from kernel.errors import ValidationFailed

__all__ = ["SECTIONS", "CatalogBundle", "load_catalog_file", "parse_catalog"]

# In dependency order: an entry refers only to entries of earlier sections.
SECTIONS: tuple[str, ...] = ("organizations", "certificate_types", "data_resources", "items", "one_things")

_MODELS: dict[str, type[Any]] = {
    "organizations": OrganizationIn,
    "certificate_types": CertificateTypeIn,
    "data_resources": DataResourceIn,
    "items": ItemIn,
    "one_things": OneThingIn,
}

Format = Literal["json", "yaml"]


@dataclass(frozen=True)
class CatalogBundle:
    """A validated catalog file; each section maps code → body, in file order."""

    organizations: dict[str, OrganizationIn] = field(default_factory=dict)
    certificate_types: dict[str, CertificateTypeIn] = field(default_factory=dict)
    data_resources: dict[str, DataResourceIn] = field(default_factory=dict)
    items: dict[str, ItemIn] = field(default_factory=dict)
    one_things: dict[str, OneThingIn] = field(default_factory=dict)

    def lookup(self, fallback: CatalogLookup | None = None) -> CatalogLookup:
        """A lookup over this bundle, asking ``fallback`` (e.g. the database) for the rest."""
        return _BundleLookup(self, fallback)


class _BundleLookup:
    def __init__(self, bundle: CatalogBundle, fallback: CatalogLookup | None) -> None:
        self._bundle = bundle
        self._fallback = fallback

    def has_organization(self, code: str) -> bool:
        if code in self._bundle.organizations:
            return True
        return self._fallback is not None and self._fallback.has_organization(code)

    def certificate_type(self, type_code: str) -> CertificateTypeView | None:
        found = self._bundle.certificate_types.get(type_code)
        if found is not None:
            return CertificateTypeView.of(found)
        return self._fallback.certificate_type(type_code) if self._fallback is not None else None

    def certificate_type_fields(self, type_code: str) -> Iterable[str] | None:
        view = self.certificate_type(type_code)
        return None if view is None else view.fields

    def has_data_resource(self, code: str) -> bool:
        if code in self._bundle.data_resources:
            return True
        return self._fallback is not None and self._fallback.has_data_resource(code)

    def has_item(self, code: str) -> bool:
        if code in self._bundle.items:
            return True
        return self._fallback is not None and self._fallback.has_item(code)


# --------------------------------------------------------------------------------------------
# YAML: YAML 1.2-style booleans, and line numbers
# --------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans: ``yes``/``no``/``on``/``off`` stay strings,
    because they are natural option values of a questionnaire."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _node_at(node: yaml.Node, path: Sequence[str | int]) -> yaml.Node:
    """The deepest node along ``path`` (as far as the path exists in the document)."""
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(
                (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None
            )
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


def _line(node: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    if node is None:
        return None
    return _node_at(node, path).start_mark.line + 1


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _detect(text: str, source: str) -> Format:
    suffix = Path(source).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def _read(text: str, fmt: Format, source: str) -> tuple[Any, yaml.Node | None]:
    if fmt == "json":
        try:
            return json.loads(text), None
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"{source}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValidationFailed(f"{source}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return data, node


class _Context:
    """Turns a path inside the file into an error that says where it is."""

    def __init__(self, source: str, root: yaml.Node | None) -> None:
        self.source = source
        self.root = root

    def fail(
        self,
        path: Sequence[str | int],
        message: str,
        *,
        entry_code: str | None = None,
        code: str | None = None,
    ) -> CatalogFileInvalid:
        entry_line = _line(self.root, path[:2])
        field_line = _line(self.root, path)
        notes = [f"code {entry_code}"] if entry_code else []
        if entry_line is not None:
            notes.append(f"line {entry_line}")
        text = f"{self.source}: {format_loc(path[:2]) or 'top level'}"
        if notes:
            text += f" ({', '.join(notes)})"
        if len(path) > 2:
            text += f": {format_loc(path[2:])}"
            if field_line is not None and field_line != entry_line:
                text += f" (line {field_line})"
        return CatalogFileInvalid(
            f"{text}: {message}",
            field=format_loc(path) or None,
            code=code,
            section=path[0] if path else None,
            line=field_line,
            entry_line=entry_line,
        )

    def rethrow(self, exc: PathError, entry_code: str | None) -> CatalogFileInvalid:
        """``exc`` (from a body or a reference check), restated with where it is in the file."""
        return self.fail(exc.loc, exc.message, entry_code=entry_code, code=exc.code)


def _entry_code(section: str, entry: dict[str, Any]) -> str | None:
    if section == "organizations":
        return None  # the code is part of OrganizationIn and validated there
    code = entry.get("code")
    valid = type_code_valid if section == "certificate_types" else catalog_code_valid
    return code if isinstance(code, str) and valid(code) else None


def parse_catalog(
    text: str,
    *,
    fmt: Format | None = None,
    source: str = "<catalog>",
    existing: CatalogLookup | None = None,
) -> CatalogBundle:
    """Validate a catalog file's text; ``existing`` resolves references to entries not in the file."""
    ctx = _Context(source, None)
    data, ctx.root = _read(text, fmt or _detect(text, source), source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ctx.fail((), "a catalog file is a mapping of sections")
    for key in data:
        if key not in SECTIONS:
            raise ctx.fail((key,), f"unknown section; expected some of {', '.join(SECTIONS)}")

    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for name in SECTIONS:
        entries = data.get(name) or []
        if not isinstance(entries, list):
            raise ctx.fail((name,), "a section is a list of entries")
        for index, entry in enumerate(entries):
            where: tuple[str | int, ...] = (name, index)
            if not isinstance(entry, dict):
                raise ctx.fail(where, "an entry is a mapping")
            body = dict(entry)
            raw_code = body.get("code") if name == "organizations" else body.pop("code", None)
            shown = str(raw_code) if raw_code is not None else None
            if name != "organizations":
                if raw_code is None:
                    raise ctx.fail((*where, "code"), "missing code")
                if _entry_code(name, entry) is None:
                    kind = "type code (USCC + 3 digits)" if name == "certificate_types" else "code"
                    raise ctx.fail((*where, "code"), f"not a valid {kind}: {shown}", entry_code=shown)
            try:
                model = validate_body(_MODELS[name], body, prefix=where)
            except BodyInvalid as exc:
                raise ctx.rethrow(exc, shown) from None
            code: str = model.code if name == "organizations" else str(raw_code)
            if code in sections[name]:
                raise ctx.fail((*where, "code"), f"code {code} appears twice in {name}", entry_code=code)
            sections[name][code] = model

    bundle = CatalogBundle(**sections)
    lookup = bundle.lookup(existing)
    for name in SECTIONS:
        for index, (code, model) in enumerate(sections[name].items()):
            try:
                check_references(model, lookup, prefix=(name, index))
            except PathError as exc:  # an unknown reference, or an item's issues that do not fit
                raise ctx.rethrow(exc, code) from None
    return bundle


def load_catalog_file(path: str | Path, *, existing: CatalogLookup | None = None) -> CatalogBundle:
    """Read and validate a catalog file (JSON or YAML, by extension, else by content)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"{path}: cannot read catalog file: {exc}") from None
    return parse_catalog(text, source=str(path), existing=existing)
