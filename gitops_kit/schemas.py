"""The embedded schema engine: find a JSON schema for an object and validate it offline.

Where a schema comes from, first match wins:

1. user locations (`schemas.locations` / `--schema-location`): local folders or kubeconform-style
   templates (`{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json` …); never the network;
2. built-in Kubernetes kinds for the target version (`schemas/kubernetes/`, 1.28–1.37);
3. bundled CRD schemas (`schemas/crds/<group>.json.gz`: Flux, Argo CD, Cilium, …);
4. a `CustomResourceDefinition` in the repository itself (see `crd_schema`; the rule does that part).

Everything heavy (the gzip bundle, `jsonschema_rs`) loads on first use, so importing this module
costs nothing. Compiled validators are cached per (source, apiVersion, kind).
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from .errors import UserError
from .model import PathPart

SUPPORTED_VERSIONS = tuple(f"1.{minor}" for minor in range(28, 38))
DEFAULT_VERSION = SUPPORTED_VERSIONS[-1]
DEFAULT_TEMPLATE = "{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json"
_TEMPLATE_VAR = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
_ENC = re.compile(r"^ENC\[[A-Z0-9_]+,data:")


#: groups whose "objects" are tool configuration, never sent to an API server: no schema expected
NOT_API_GROUPS = frozenset({"kustomize.config.k8s.io"})


class SchemaError(UserError):
    """Bad schema settings (a remote location, an unknown Kubernetes version)."""


@dataclass(frozen=True)
class SchemaIssue:
    """One schema error: a readable message and the path inside the document."""

    message: str
    path: tuple[PathPart, ...]


@dataclass(frozen=True)
class SchemaSettings:
    kubernetes: str = DEFAULT_VERSION
    strict: bool = True
    locations: tuple[str, ...] = ()
    engine: str = "builtin"
    root: str = "."
    #: `--strict-schemas` / `schemas.strict-schemas`: an object without a schema is an error
    strict_missing: bool = False

    @classmethod
    def from_config(cls, section: Mapping[str, Any], targets: Mapping[str, str], root: str) -> "SchemaSettings":
        """Settings from the `schemas:` section of `.gitops-kit.yaml` and `targets.kubernetes`."""
        known = {"locations", "strict", "engine", "strict-schemas"}
        unknown = sorted(str(k) for k in section if k not in known)
        if unknown:
            raise SchemaError(f".gitops-kit.yaml: schemas.{unknown[0]}: unknown setting (known: {', '.join(sorted(known))})")
        locations = section.get("locations", [])
        if isinstance(locations, str):
            locations = [locations]
        if not isinstance(locations, list) or not all(isinstance(item, str) for item in locations):
            raise SchemaError(".gitops-kit.yaml: schemas.locations: must be a list of local folders or templates")
        for location in locations:
            if re.match(r"^[a-z][a-z0-9+.-]*://", location):
                raise SchemaError(
                    f"schema location {location!r}: only local folders are allowed (gitops-kit never downloads schemas); "
                    "download the schemas once and point at the folder"
                )
        strict = section.get("strict", True)
        if not isinstance(strict, bool):
            raise SchemaError(".gitops-kit.yaml: schemas.strict: must be true or false")
        engine = section.get("engine", "builtin")
        if engine not in ("builtin", "kubeconform"):
            raise SchemaError(f".gitops-kit.yaml: schemas.engine: {engine!r} is not builtin or kubeconform")
        strict_missing = section.get("strict-schemas", False)
        if not isinstance(strict_missing, bool):
            raise SchemaError(".gitops-kit.yaml: schemas.strict-schemas: must be true or false")
        version = minor_version(targets.get("kubernetes") or DEFAULT_VERSION)
        return cls(version, strict, tuple(locations), engine, root, strict_missing)


def minor_version(text: str) -> str:
    """'1.33.2' / 'v1.33' → '1.33'; outside the bundled 1.28–1.37, the nearest bundled version.

    Other rules (deprecated APIs) legitimately target older clusters, so an old target is not an
    error here: its objects are checked against the oldest bundled schemas (docs/schemas.md says so).
    """
    parts = text.lstrip("v").split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise SchemaError(f"Kubernetes version {text!r}: expected X.Y, e.g. {DEFAULT_VERSION}") from None
    if major != 1:
        raise SchemaError(f"Kubernetes version {text!r}: only 1.x is supported")
    lowest, highest = (int(v.split(".")[1]) for v in (SUPPORTED_VERSIONS[0], SUPPORTED_VERSIONS[-1]))
    return f"1.{min(max(minor, lowest), highest)}"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


# -- the bundle ------------------------------------------------------------------------------------
def _read_gz(path: Path) -> Any:
    with gzip.open(path, "rb") as handle:
        return json.loads(handle.read())


@lru_cache(maxsize=1)
def _definition_store() -> dict[str, Any]:
    from .resources import schemas_path

    return _read_gz(schemas_path("kubernetes", "definitions.json.gz"))


@lru_cache(maxsize=None)
def _version_index(version: str) -> dict[str, Any]:
    from .resources import schemas_path

    return _read_gz(schemas_path("kubernetes", f"v{version}.json.gz"))


@lru_cache(maxsize=None)
def _crd_bundle(group: str) -> dict[str, Any]:
    from .resources import schemas_path

    path = schemas_path("crds", f"{group}.json.gz")
    return _read_gz(path) if path.is_file() else {}


def builtin_schema(version: str, api_version: str, kind: str) -> dict[str, Any] | None:
    """The built-in schema of a kind: its definition plus every definition it reaches, as `$defs`."""
    index = _version_index(version)
    name = index["kinds"].get(f"{api_version}/{kind}")
    if name is None:
        return None
    store, names = _definition_store(), index["definitions"]
    needed: dict[str, Any] = {}
    pending = [name]
    while pending:
        current = pending.pop()
        if current in needed:
            continue
        definition = store[names[current]]
        needed[current] = definition
        pending.extend(ref.rpartition("/")[2] for ref in _refs(definition))
    return {"$ref": f"#/$defs/{name}", "$defs": needed}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def bundled_crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    group, version = split_api_version(api_version)
    if not group:
        return None
    return _crd_bundle(group).get(f"{kind.lower()}_{version}")


def relax(schema: Any) -> Any:
    """The non-strict variant: drop `additionalProperties: false` so unknown fields are allowed."""
    if isinstance(schema, list):
        return [relax(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: relax(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}


# -- user locations (kubeconform templates) --------------------------------------------------------
def expand_location(location: str, version: str, strict: bool, api_version: str, kind: str) -> str:
    """Fill a kubeconform location template for one kind (a bare folder gets kubeconform's default)."""
    template = location if "{{" in location else location.rstrip("/") + "/" + DEFAULT_TEMPLATE
    group, resource_version = split_api_version(api_version)
    kind_suffix = f"-{group.split('.')[0]}-{resource_version}" if group else f"-{resource_version}"
    values = {
        "NormalizedKubernetesVersion": f"v{version}.0",
        "StrictSuffix": "-strict" if strict else "",
        "ResourceKind": kind.lower(),
        "KindSuffix": kind_suffix,
        "Group": group,
        "ResourceAPIVersion": resource_version,
    }

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise SchemaError(f"schema location {location!r}: unknown template variable {{{{.{name}}}}} (known: {', '.join(values)})")
        return values[name]

    return _TEMPLATE_VAR.sub(substitute, template)


@lru_cache(maxsize=512)
def _load_user_schema(path: str) -> dict[str, Any] | None:
    """A user schema file, meta-validated with `jsonschema` (its API reports *why* a schema is bad)."""
    file = Path(path)
    if not file.is_file():
        return None
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise SchemaError(f"{path}: not a readable JSON schema: {err}") from None
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as err:
        where = "/".join(str(p) for p in err.path) or "(root)"
        raise SchemaError(f"{path}: invalid JSON schema at {where}: {err.message}") from None
    return schema


# -- repository CRDs --------------------------------------------------------------------------------
def crd_schemas(crd: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → JSON schema for every served version of a CustomResourceDefinition."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group, kind = spec.get("group"), names.get("kind")
    versions = spec.get("versions")
    if not isinstance(group, str) or not isinstance(kind, str) or not isinstance(versions, list):
        return {}
    found = {}
    for version in versions:
        if not isinstance(version, dict) or version.get("served") is False or not isinstance(version.get("name"), str):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema") if isinstance(version.get("schema"), dict) else None
        api_version = f"{group}/{version['name']}"
        found[(api_version, kind)] = crd_to_json_schema(schema if isinstance(schema, dict) else {}, api_version, kind)
    return found


def crd_to_json_schema(openapi: Mapping[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """A structural CRD schema as JSON schema, strict like the API server's field validation."""
    root = _convert(openapi, top=True)
    properties = root.setdefault("properties", {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = {"type": "object"}  # ObjectMeta is validated by object-identity rules
    properties["apiVersion"] = {**properties["apiVersion"], "enum": [api_version]}
    properties["kind"] = {**properties["kind"], "enum": [kind]}
    if not openapi.get("x-kubernetes-preserve-unknown-fields"):
        root.setdefault("additionalProperties", False)
    return root


def _convert(node: Any, top: bool = False) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key in ("items", "not") and isinstance(value, dict):
            out[key] = _convert(value)
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = _convert(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            # structural schemas forbid types inside these; they only constrain values
            out[key] = [_convert(item) for item in value]
        elif key in ("type", "enum", "required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                     "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "pattern", "minProperties",
                     "maxProperties", "multipleOf", "additionalProperties"):
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        for name in ("apiVersion", "kind"):
            props.setdefault(name, {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if not top and "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


# -- validation -------------------------------------------------------------------------------------
def prepare(data: Mapping[str, Any]) -> dict[str, Any]:
    """The object as the API server would see it: SOPS metadata set aside."""
    if "sops" in data and isinstance(data.get("sops"), dict):
        return {k: v for k, v in data.items() if k != "sops"}
    return dict(data)


@lru_cache(maxsize=None)
def _compile(schema_json: str):
    import jsonschema_rs

    # formats stay unchecked: upstream marks Secret data `format: byte`, and SOPS ENC[...] values
    # (and Flux `${VAR}` placeholders) would otherwise be false "invalid base64" errors
    return jsonschema_rs.validator_for(json.loads(schema_json), validate_formats=False)


@dataclass
class Validator:
    """A compiled schema with what readable messages need (the schema itself, for did-you-mean)."""

    schema: dict[str, Any]
    compiled: Any

    @classmethod
    def build(cls, schema: dict[str, Any]) -> "Validator":
        return cls(schema, _compile(json.dumps(schema, sort_keys=True)))

    def issues(self, data: Any) -> list[SchemaIssue]:
        try:
            errors = list(self.compiled.iter_errors(data))
        except (ValueError, TypeError, OverflowError):
            # non-string keys or integers beyond 64 bits: YAML allows them, JSON schema cannot see them
            data = _jsonable(data)
            try:
                errors = list(self.compiled.iter_errors(data))
            except (ValueError, TypeError, OverflowError) as err:
                return [SchemaIssue(f"cannot be schema-validated: {err}", ())]
        found = [_issue(error, self.schema, data) for error in errors]
        found.sort(key=lambda issue: (tuple(str(p) for p in issue.path), issue.message))
        return found


def _issue(error: Any, schema: dict[str, Any], data: Any) -> SchemaIssue:
    path = tuple(error.instance_path)
    where = format_path(path)
    kind = error.kind
    name = type(kind).__name__
    if name == "AdditionalProperties":
        unexpected = list(kind.unexpected)
        known = sorted(_properties_at(schema, path))
        parts = []
        for field_name in unexpected:
            close = difflib.get_close_matches(field_name, known, n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            parts.append(f"unknown field '{field_name}'{hint}")
        first = unexpected[0] if len(unexpected) == 1 else None
        return SchemaIssue(f"{where}: {'; '.join(parts)}", path + ((first,) if first else ()))
    if name == "Type":
        types = [t for t in _as_list(getattr(kind, "types", [])) if t != "null"]
        wanted = " or ".join(types) if types else "another type"
        return SchemaIssue(f"{where}: {_short(_value_at(data, path))} is not of type {wanted}", path)
    if name == "Required":
        return SchemaIssue(f"{where}: required field '{kind.property}' is missing", path)
    if name == "Enum":
        return SchemaIssue(f"{where}: {_short(_value_at(data, path))} is not one of the allowed values", path)
    return SchemaIssue(f"{where}: {error.message}", path)


def _jsonable(value: Any) -> Any:
    """A JSON-compatible copy: keys become strings, out-of-range integers become their text."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return f"<integer of {value.bit_length()} bits>"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # dates and other YAML scalars the fast loader may produce


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _short(value: Any) -> str:
    try:
        text = json.dumps(_jsonable(value), default=str)
    except (ValueError, TypeError):
        text = "the value"
    return text if len(text) <= 40 else text[:37] + "..."


def _value_at(data: Any, path: tuple[PathPart, ...]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def format_path(path: Sequence[PathPart]) -> str:
    """('spec', 'containers', 0, 'image') → 'spec.containers[0].image' ('(root)' when empty)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _properties_at(schema: dict[str, Any], path: tuple[PathPart, ...]) -> set[str]:
    """Names of the fields the schema allows at `path` (follows `$ref`, items, additionalProperties)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 50:
            node = defs.get(node["$ref"].rpartition("/")[2], {})
            seen += 1
        return node

    node = resolve(schema)
    for part in path:
        if not isinstance(node, dict):
            return set()
        if isinstance(part, int):
            node = resolve(node.get("items", {}))
        elif part in node.get("properties", {}):
            node = resolve(node["properties"][part])
        else:
            node = resolve(node.get("additionalProperties", {}))
    return set(node.get("properties", {})) if isinstance(node, dict) else set()


@dataclass
class SchemaService:
    """Schema lookup and validation for one run; lazily loads what it needs, caches validators."""

    settings: SchemaSettings = field(default_factory=SchemaSettings)
    _validators: dict[tuple[str, str], Validator | None] = field(default_factory=dict)

    def validator(self, api_version: str, kind: str) -> Validator | None:
        """The validator for a kind, or None when no schema is known (before repository CRDs)."""
        key = (api_version, kind)
        if key not in self._validators:
            schema = self._find(api_version, kind)
            if schema is not None and not self.settings.strict:
                schema = relax(schema)
            self._validators[key] = Validator.build(schema) if schema is not None else None
        return self._validators[key]

    def _find(self, api_version: str, kind: str) -> dict[str, Any] | None:
        settings = self.settings
        for location in settings.locations:
            expanded = expand_location(location, settings.kubernetes, settings.strict, api_version, kind)
            path = Path(expanded) if Path(expanded).is_absolute() else Path(settings.root, expanded)
            schema = _load_user_schema(str(path))
            if schema is not None:
                return schema
        return builtin_schema(settings.kubernetes, api_version, kind) or bundled_crd_schema(api_version, kind)

    def validate(self, data: Mapping[str, Any], api_version: str, kind: str) -> list[SchemaIssue] | None:
        """Schema issues of an object, or None when there is no schema for its kind."""
        validator = self.validator(api_version, kind)
        if validator is None:
            return None
        return validator.issues(prepare(data))


def service_for(services: Mapping[str, Any], root: str = ".", targets: Mapping[str, str] | None = None) -> Any:
    """The run's schema service (the engine provides it), or a default one for the targets."""
    service = services.get("schemas")
    if service is not None:
        return service
    return _default_service(root, (targets or {}).get("kubernetes") or DEFAULT_VERSION)


@lru_cache(maxsize=8)
def _default_service(root: str, version: str) -> SchemaService:
    return SchemaService(SchemaSettings(kubernetes=minor_version(version), root=root))


def is_encrypted_value(value: Any) -> bool:
    return isinstance(value, str) and bool(_ENC.match(value))


def service_from_config(config: Any) -> Any:
    """The schema service the configuration asks for (built-in engine or the kubeconform wrapper)."""
    settings = SchemaSettings.from_config(config.section("schemas"), config.targets, str(config.root))
    if settings.engine == "kubeconform":
        from .kubeconform import KubeconformService

        service = KubeconformService(settings)
        service.binary()  # missing or too old: exit 2 now, not one error per object
        return service
    return SchemaService(settings)
