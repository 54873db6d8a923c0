"""`--schema-engine kubeconform`: run a `kubeconform` from PATH and turn its JSON output into the
same schema issues the built-in engine gives, so reporters, suppression and baselines are unchanged.

kubeconform never downloads anything here: it gets the user's schema locations plus a private
folder where the schema bundle of gitops-kit is written out (per kind, on demand), never its
default remote location. Both message formats are understood: v0.7 (`- at '/spec': …`) and
v0.6 (`jsonschema: '/spec' does not validate with …: …`).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .model import PathPart
from .schemas import SchemaIssue, SchemaSettings, builtin_schema, bundled_crd_schema, format_path, prepare, relax
from .tools import ToolError, find_tool, parse_version, require_version, run

MINIMUM_VERSION = (0, 6, 0)
#: seconds one kubeconform call may take (one object per call); GITOPS_KIT_TOOL_TIMEOUT lowers it
TIMEOUT = 60.0
INSTALL_HINT = "install kubeconform v0.6+ (https://github.com/yannh/kubeconform/releases) or use --schema-engine builtin"
_V07 = re.compile(r"- at '([^']*)': (.*?)(?=\s+- at '|\Z)", re.S)
_V06 = re.compile(r"jsonschema: '([^']*)' does not validate with \S+: (.*)\Z", re.S)
_UNKNOWN = re.compile(r"additional ?[pP]roperties ('[^']+'(?:, '[^']+')*) not allowed")
_MISSING = "could not find schema"
_BUNDLE_TEMPLATE = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"


@dataclass(frozen=True)
class Result:
    """One resource as kubeconform reported it."""

    filename: str
    kind: str
    name: str
    api_version: str
    status: str  # statusValid, statusInvalid, statusError, statusSkipped, statusEmpty
    message: str
    issues: tuple[SchemaIssue, ...]

    @property
    def schema_missing(self) -> bool:
        return self.status == "statusError" and self.message.startswith(_MISSING)


def pointer_to_path(pointer: str) -> tuple[PathPart, ...]:
    """'/spec/ports/0' → ('spec', 'ports', 0) (RFC 6901 escapes undone; digits become list indexes)."""
    parts: list[PathPart] = []
    for raw in pointer.strip("/").split("/") if pointer.strip("/") else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(token) if token.isdigit() else token)
    return tuple(parts)


def parse_message(message: str, validation_errors: Any = None) -> tuple[SchemaIssue, ...]:
    """The schema errors inside one kubeconform `msg` (leaf detail lives there, not in validationErrors)."""
    found = [(pointer, text.strip()) for pointer, text in _V07.findall(message)]
    if not found:
        match = _V06.search(message)
        if match:
            found = [(match.group(1), match.group(2).strip())]
    if not found and isinstance(validation_errors, list):
        found = [(str(e.get("path", "")), str(e.get("msg", ""))) for e in validation_errors if isinstance(e, dict)]
    specific = [item for item in found if item[1] != "validation failed"] or found
    issues = []
    for pointer, text in specific:
        path = pointer_to_path(pointer)
        message = f"{format_path(path)}: {text}"
        unknown = _UNKNOWN.search(text)
        if unknown and "," not in unknown.group(1):
            path += (unknown.group(1).strip("'"),)  # point at the unknown field's own line
        issues.append(SchemaIssue(message, path))
    if not issues and message:
        issues.append(SchemaIssue(message, ()))
    return tuple(issues)


def parse_output(text: str) -> list[Result]:
    """kubeconform `-output json` → results; a clear `ToolError` when it is not that format."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ToolError("kubeconform: output is not JSON (was it run with -output json?)") from None
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list):
        raise ToolError("kubeconform: JSON output has no 'resources' list")
    results = []
    for item in resources:
        if not isinstance(item, dict):
            continue
        status, message = str(item.get("status", "")), str(item.get("msg", ""))
        issues = parse_message(message, item.get("validationErrors")) if status == "statusInvalid" else ()
        results.append(Result(str(item.get("filename", "")), str(item.get("kind", "")), str(item.get("name", "")),
                              str(item.get("version", "")), status, message, issues))
    return results


@dataclass
class KubeconformService:
    """The schema service of `--schema-engine kubeconform` (same interface as `schemas.SchemaService`)."""

    settings: SchemaSettings
    _binary: str | None = None
    _bundle_dir: tempfile.TemporaryDirectory | None = None
    _has_schema: dict[tuple[str, str], bool] = field(default_factory=dict)

    def binary(self) -> str:
        if self._binary is None:
            binary = find_tool("kubeconform", INSTALL_HINT)
            version = run([binary, "-v"], timeout=30, tool="kubeconform")
            require_version("kubeconform", parse_version(version.text + version.error_text), MINIMUM_VERSION)
            self._binary = binary
        return self._binary

    def _export_bundled(self, api_version: str, kind: str) -> None:
        """Write the bundled schema of a kind where kubeconform's extra location will find it."""
        if self._bundle_dir is None:
            self._bundle_dir = tempfile.TemporaryDirectory(prefix="gitops-kit-kubeconform-")
        schema = builtin_schema(self.settings.kubernetes, api_version, kind) or bundled_crd_schema(api_version, kind)
        if schema is None:
            return
        group, _, version = api_version.rpartition("/")
        target = Path(self._bundle_dir.name, group, f"{kind.lower()}_{version}.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema if self.settings.strict else relax(schema)), encoding="utf-8")

    def _arguments(self) -> list[str]:
        settings = self.settings
        args = [self.binary(), "-output", "json", "-kubernetes-version", f"{settings.kubernetes}.0"]
        if settings.strict:
            args.append("-strict")
        for location in settings.locations:
            absolute = location if Path(location).is_absolute() else str(Path(settings.root, location))
            args += ["-schema-location", absolute]
        assert self._bundle_dir is not None
        args += ["-schema-location", str(Path(self._bundle_dir.name)) + "/" + _BUNDLE_TEMPLATE, "-"]
        return args

    def _run(self, data: Mapping[str, Any]) -> Result | None:
        self._export_bundled(str(data.get("apiVersion", "")), str(data.get("kind", "")))
        # JSON is YAML: one object on stdin, so rendered objects (no file of their own) work too
        result = run(self._arguments(), input=json.dumps(prepare(data), default=str).encode(), timeout=TIMEOUT, tool="kubeconform")
        if result.returncode not in (0, 1):
            raise ToolError(f"kubeconform exited {result.returncode}: {result.error_text or 'no error message'}")
        results = parse_output(result.text)
        return results[0] if results else None

    def validator(self, api_version: str, kind: str) -> object | None:
        """Truthy when kubeconform finds a schema for the kind (asked once per kind, with a stub object)."""
        key = (api_version, kind)
        if key not in self._has_schema:
            stub = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "schema-probe"}}
            result = self._run(stub)
            self._has_schema[key] = not (result is not None and result.schema_missing)
        return self if self._has_schema[key] else None

    def validate(self, data: Mapping[str, Any], api_version: str, kind: str) -> list[SchemaIssue] | None:
        result = self._run(data)
        if result is None or result.status in ("statusValid", "statusEmpty", "statusSkipped"):
            return []
        if result.schema_missing:
            return None
        if result.status == "statusError":
            return [SchemaIssue(f"kubeconform: {result.message}", ())]
        return list(result.issues)
