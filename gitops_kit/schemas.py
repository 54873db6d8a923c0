"""The embedded schema engine: find a JSON schema for an object and validate it offline.

Where a schema comes from, first match wins:

1. user locations (`schemas.locations` / `--schema-location`): local folders or kubeconform-style
   templates (`{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json` …); never the network;
2. built-in Kubernetes kinds for the target version (`schemas/kubernetes/`, 1.28–1.37);
3. bundled CRD schemas (`schemas/crds/<group>.json.gz`: Flux, Argo CD, Cilium, …);
4. a `CustomResourceDefinition` in the repository itself (see `crd_schema`; the rule does that part).

Everything heavy (the gzip bundle, `jsonschema_rs`) loads on first use, so importing this module
costs nothing. Compiled validators are cached per (source, apiVersion, kind). A built-in or bundled
schema, once resolved (its definition and every definition it reaches), is kept in the user cache
(`schema_cache_dir()`, marshal format, keyed by the bundle files and the Python version): the next
run, typically a pre-commit hook on one file, reads one small file instead of the whole bundle.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from .errors import UserError
from .model import PathPart

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Iterator, Mapping, Sequence

SUPPORTED_VERSIONS = tuple(f"1.{minor}" for minor in range(28, 38))
DEFAULT_VERSION = SUPPORTED_VERSIONS[-1]
DEFAULT_TEMPLATE = "{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json"
_TEMPLATE_VAR = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


#: groups whose "objects" are tool configuration, never sent to an API server: no schema expected
NOT_API_GROUPS = frozenset({"kustomize.config.k8s.io", "viaduct.ai"})  # kustomize and KSOPS generator configs


class SchemaError(UserError):
    """Bad schema settings (a remote location, an unknown Kubernetes version)."""


class SchemaIssue:
    """One schema error: a readable message and the path inside the document."""

    __slots__ = ("message", "path")

    def __init__(self, message: str, path: tuple[PathPart, ...]) -> None:
        self.message = message
        self.path = path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SchemaIssue) and (self.message, self.path) == (other.message, other.path)

    def __hash__(self) -> int:
        return hash((self.message, self.path))

    def __repr__(self) -> str:
        return f"SchemaIssue({self.message!r}, {self.path!r})"


class SchemaSettings:
    """Where schemas come from and how strictly they apply. `strict_missing`
    (`--strict-schemas` / `schemas.strict-schemas`): an object without a schema is an error."""

    __slots__ = ("kubernetes", "strict", "locations", "engine", "root", "strict_missing")

    def __init__(
        self,
        kubernetes: str = DEFAULT_VERSION,
        strict: bool = True,
        locations: tuple[str, ...] = (),
        engine: str = "builtin",
        root: str = ".",
        strict_missing: bool = False,
    ) -> None:
        self.kubernetes = kubernetes
        self.strict = strict
        self.locations = tuple(locations)
        self.engine = engine
        self.root = root
        self.strict_missing = strict_missing

    def _key(self) -> tuple:
        return (self.kubernetes, self.strict, self.locations, self.engine, self.root, self.strict_missing)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SchemaSettings) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"SchemaSettings{self._key()!r}"

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
def _read_gz(path: str | Path) -> Any:
    import gc
    import gzip
    import json

    with gzip.open(path, "rb") as handle:
        data = handle.read()
    # JSON makes no reference cycles, yet its burst of new objects could set off a full collection over
    # the whole heap (~0.03 s in `new cluster`): there is nothing for it to find
    collecting = gc.isenabled()
    gc.disable()
    try:
        return json.loads(data)
    finally:
        if collecting:
            gc.enable()


def schema_cache_dir() -> str:
    """Where resolved schemas are cached (next to the render cache; see `resources.user_cache_dir`)."""
    from .resources import user_cache_location

    return user_cache_location("schemas")


@lru_cache(maxsize=None)
def _bundle_stamp(version: str) -> str:
    """Identifies the bundle files a resolved schema came from (size + mtime; no hashing at start-up)."""
    import sys

    from . import __version__
    from .resources import schemas_location

    parts = [__version__, f"py{sys.version_info[0]}{sys.version_info[1]}", version]
    for name in ("definitions.json.gz", f"v{version}.json.gz"):
        try:
            stat = os.stat(schemas_location("kubernetes", name))
            parts.append(f"{stat.st_size:x}-{stat.st_mtime_ns:x}")
        except OSError:
            parts.append("missing")
    return "_".join(parts)


def _cached_schema(version: str, api_version: str, kind: str) -> tuple[bool, Any]:
    """(found, schema) from the disk cache; any problem reading it is a miss, never an error."""
    import marshal

    path = _cache_path(version, api_version, kind)
    try:
        with open(path, "rb") as handle:
            return True, marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        return False, None


def _cache_path(version: str, api_version: str, kind: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9.-]", "_", f"{api_version}_{kind}")
    return os.path.join(schema_cache_dir(), _bundle_stamp(version), f"{safe}.marshal")


def _store_schema(version: str, api_version: str, kind: str, schema: Any) -> None:
    """Write atomically (temp file + rename) so concurrent runs never read half a file; best effort."""
    import marshal

    path = _cache_path(version, api_version, kind)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # like the render cache
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(marshal.dumps(schema))
        os.replace(temporary, path)
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except (OSError, UnboundLocalError):
            pass


def cached_bundle_schema(version: str, api_version: str, kind: str) -> dict[str, Any] | None:
    """The built-in (or else bundled CRD) schema of a kind, through the disk cache."""
    found, schema = _cached_schema(version, api_version, kind)
    if not found:
        schema = builtin_schema(version, api_version, kind) or bundled_crd_schema(api_version, kind)
        _store_schema(version, api_version, kind, schema)
    return schema


@lru_cache(maxsize=1)
def _definition_store() -> dict[str, Any]:
    from .resources import schemas_location

    return _read_gz(schemas_location("kubernetes", "definitions.json.gz"))


@lru_cache(maxsize=None)
def _version_index(version: str) -> dict[str, Any]:
    from .resources import schemas_location

    return _read_gz(schemas_location("kubernetes", f"v{version}.json.gz"))


@lru_cache(maxsize=None)
def _crd_bundle(group: str) -> dict[str, Any]:
    from .resources import schemas_location

    path = schemas_location("crds", f"{group}.json.gz")
    return _read_gz(path) if os.path.isfile(path) else {}


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
    import json

    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            schema = json.loads(handle.read())
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
    return data  # type: ignore[return-value] - read only: validators never change what they check


def _jsonschema_rs():
    """The jsonschema_rs extension, loaded cheaply (see _native.py)."""
    from ._native import jsonschema_rs

    return jsonschema_rs()


def _compile(schema: dict[str, Any]):
    # formats stay unchecked: upstream marks Secret data `format: byte`, and SOPS ENC[...] values
    # (and Flux `${VAR}` placeholders) would otherwise be false "invalid base64" errors
    return _jsonschema_rs().validator_for(schema, validate_formats=False)


class Validator:
    """A schema, compiled with jsonschema_rs on first need, with what readable messages need (the
    schema itself, for did-you-mean).

    The first documents go through `schema_accept.accepts` (pure Python, one-sided): a small run
    whose objects are valid never loads jsonschema_rs. A document it does not accept, or the
    `QUICK_CHECKS + 1`-th document, compiles the validator, which is faster per document.
    """

    __slots__ = ("schema", "compiled", "quick_checks")

    QUICK_CHECKS = 16

    def __init__(self, schema: dict[str, Any], compiled: Any = None, quick_checks: int = QUICK_CHECKS) -> None:
        self.schema = schema
        self.compiled = compiled
        self.quick_checks = 0 if compiled is not None else quick_checks

    @classmethod
    def build(cls, schema: dict[str, Any], quick_checks: int = QUICK_CHECKS) -> "Validator":
        return cls(schema, quick_checks=quick_checks)

    def issues(self, data: Any) -> list[SchemaIssue]:
        compiled = self.compiled
        if compiled is None:
            if self.quick_checks > 0:
                from .schema_accept import accepts

                self.quick_checks -= 1
                if accepts(self.schema, data):
                    return []
            compiled = self.compiled = _compile(self.schema)
        try:
            if compiled.is_valid(data):  # the common case: no error objects, list or sort
                return []
            errors = list(compiled.iter_errors(data))
        except (ValueError, TypeError, OverflowError):
            # non-string keys or integers beyond 64 bits: YAML allows them, JSON schema cannot see them
            data = _jsonable(data)
            try:
                errors = list(compiled.iter_errors(data))
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
    if _secret_value(data, path):
        # never quote a Secret's value (the validator's own message quotes it too): name the problem only
        what = {"Type": "has the wrong type", "Enum": "is not one of the allowed values"}.get(name, "is invalid")
        return SchemaIssue(f"{where}: the value {what} (a Secret's value is never shown)", path)
    if name == "AdditionalProperties":
        unexpected = list(kind.unexpected)
        known = sorted(_properties_at(schema, path))
        parts = []
        import difflib

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


def _secret_value(data: Any, path: tuple) -> bool:
    return isinstance(data, dict) and data.get("kind") == "Secret" and bool(path) and path[0] in ("data", "stringData")


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
    import json

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


class SchemaService:
    """Schema lookup and validation for one run; lazily loads what it needs, caches validators."""

    def __init__(self, settings: SchemaSettings | None = None, quick_checks: int = Validator.QUICK_CHECKS) -> None:
        self.settings = settings if settings is not None else SchemaSettings()
        self._validators: dict[tuple[str, str], Validator | None] = {}
        #: documents per kind answered by `schema_accept` before compiling (`Validator`); 0 for a large
        #: run, which compiles every kind it meets anyway
        self.quick_checks = quick_checks

    def validator(self, api_version: str, kind: str) -> Validator | None:
        """The validator for a kind, or None when no schema is known (before repository CRDs)."""
        key = (api_version, kind)
        if key not in self._validators:
            schema = self._find(api_version, kind)
            if schema is not None and not self.settings.strict:
                schema = relax(schema)
            self._validators[key] = Validator.build(schema, self.quick_checks) if schema is not None else None
        return self._validators[key]

    def _find(self, api_version: str, kind: str) -> dict[str, Any] | None:
        settings = self.settings
        for location in settings.locations:
            expanded = expand_location(location, settings.kubernetes, settings.strict, api_version, kind)
            path = expanded if os.path.isabs(expanded) else os.path.join(settings.root, expanded)
            schema = _load_user_schema(path)
            if schema is not None:
                return schema
        return cached_bundle_schema(settings.kubernetes, api_version, kind)

    def validate(self, data: Mapping[str, Any], api_version: str, kind: str) -> list[SchemaIssue] | None:
        """Schema issues of an object, or None when there is no schema for its kind."""
        validator = self._validators.get((api_version, kind), _UNSEEN)  # one lookup for a kind seen before
        if validator is _UNSEEN:
            validator = self.validator(api_version, kind)
        if validator is None:
            return None
        compiled = validator.compiled
        if compiled is not None and "sops" not in data:
            # the common case of a long run, answered here: a valid object without a sops block
            try:
                if compiled.is_valid(data):
                    return []
            except (ValueError, TypeError, OverflowError):
                pass  # `issues` converts what JSON cannot hold and says why
        return validator.issues(prepare(data))


_UNSEEN = object()


def service_for(services: Mapping[str, Any], root: str = ".", targets: Mapping[str, str] | None = None) -> Any:
    """The run's schema service (the engine provides it), or a default one for the targets."""
    service = services.get("schemas")
    if service is not None:
        return service
    return _default_service(root, (targets or {}).get("kubernetes") or DEFAULT_VERSION)


@lru_cache(maxsize=8)
def _default_service(root: str, version: str) -> SchemaService:
    return SchemaService(SchemaSettings(kubernetes=minor_version(version), root=root))


def service_from_config(config: Any, many: bool = False) -> Any:
    """The schema service the configuration asks for (built-in engine or the kubeconform wrapper).

    `many`: a large run, whose validators are compiled for their first document (the pure-Python
    first checks only pay off when a run has few documents of a kind)."""
    settings = SchemaSettings.from_config(config.section("schemas"), config.targets, str(config.root))
    if settings.engine == "kubeconform":
        from .kubeconform import KubeconformService

        service = KubeconformService(settings)
        service.binary()  # missing or too old: exit 2 now, not one error per object
        return service
    return SchemaService(settings, 0 if many else Validator.QUICK_CHECKS)
