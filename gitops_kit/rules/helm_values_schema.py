"""helm-values-schema: values embedded in a HelmRelease or Argo CD Application, against the chart's value schema."""

from __future__ import annotations

from functools import lru_cache

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._helm import embedded_values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator


@lru_cache(maxsize=None)
def chart_schema(chart: str) -> dict[str, Any] | None:
    """`schemas/charts/<chart>.json`, or None for charts gitops-kit has no schema for."""
    import json

    from ..resources import schemas_location

    if chart not in _known_charts():
        return None  # never build a path from a chart name: it can be anything (300 characters, "../x")
    with open(schemas_location("charts", f"{chart}.json"), encoding="utf-8") as handle:
        return json.loads(handle.read())


@lru_cache(maxsize=None)
def chart_validator(chart: str) -> Any | None:
    """A `jsonschema` validator for the chart's values: its errors name the failing keyword and the
    schema part, which the messages below need; only built for values that fail the fast check."""
    import jsonschema

    schema = chart_schema(chart)
    return jsonschema.Draft202012Validator(schema) if schema is not None else None


@lru_cache(maxsize=None)
def _fast_validator(chart: str) -> Any | None:
    from ..schemas import _jsonschema_rs

    schema = chart_schema(chart)
    return _jsonschema_rs().validator_for(schema, validate_formats=False) if schema is not None else None


def _valid(chart: str, values: Any) -> bool:
    """The common case, clean values, answered by the compiled validator (no `jsonschema` import)."""
    try:
        return bool(_fast_validator(chart).is_valid(values))
    except (ValueError, TypeError, OverflowError):
        return False  # YAML the JSON validator cannot take (non-string keys, huge ints): the slow path decides


@lru_cache(maxsize=1)
def _known_charts() -> frozenset[str]:
    import os

    from ..resources import schemas_location

    return frozenset(name[: -len(".json")] for name in os.listdir(schemas_location("charts")) if name.endswith(".json"))


def _dotted(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for values in embedded_values(doc, ctx):
        for message, path in values.problems:
            yield Violation(message, path=path, severity=Severity.WARNING, fix="Fix the path after $<ref>/ (relative to the repository root) or remove the entry.")
        # most charts have no bundled schema: one set lookup, no cache entry per chart name
        chart = values.chart
        if not values.values or chart not in _known_charts() or chart_schema(chart) is None or _valid(chart, values.values):
            continue
        validator = chart_validator(values.chart)
        errors = sorted(validator.iter_errors(values.values), key=lambda e: [str(p) for p in e.absolute_path])
        for error in errors:
            parts = tuple(error.absolute_path)
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                allowed = sorted(error.schema.get("properties", {}))
                unknown = sorted(set(error.instance) - set(allowed))
                message = f"{values.chart} values {_dotted(parts)}: unknown key(s) {', '.join(map(str, unknown))} (allowed: {', '.join(allowed)})"
                parts = parts + (unknown[0],) if unknown else parts
            elif error.validator == "type":
                # never echo the instance: a mistyped token or password would end up in the report
                expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
                message = f"{values.chart} values {_dotted(parts)}: must be of type {expected}, not {_json_type(error.instance)}"
            else:
                message = f"{values.chart} values {_dotted(parts)}: {_short(error.message)}"
            yield Violation(message, **values.where(*parts))


def _json_type(value: Any) -> str:
    for name, kinds in (("boolean", bool), ("integer", int), ("number", float), ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, kinds):
            return name
    return "null"


def _short(message: str) -> str:
    # jsonschema quotes the whole offending instance; keep findings one line and free of large values
    return message if len(message) <= 160 else message[:157] + "..."


RULE = Rule(
    id="helm-values-schema",
    severity=Severity.ERROR,
    kinds=frozenset({"HelmRelease", "Application"}),
    summary="Values given to a chart gitops-kit knows (cilium, gpu-operator, cvmfs-csi, gitlab-runner, kepler, ingress-nginx) have the wrong type, an invalid enum value or an unknown key.",
    rationale=(
        "Helm accepts any values document: a string where the chart expects a number, a misspelt enum value or a "
        "key at the wrong level is silently ignored or breaks templating, and Flux or Argo CD then reports a failed "
        "release long after the commit. The value schemas in schemas/charts/ describe the keys gitops-kit generates "
        "and checks (types, allowed values; closed objects only where the chart's keys are known exactly); other "
        "keys are allowed. Values embedded in HelmRelease spec.values and Argo CD Application "
        "spec.source(s).helm.valuesObject / values are checked, merged with the Application's "
        "`$<ref>/<path>` valueFiles (read from this repository, as Argo CD does; a finding points at the file that sets "
        "the value). A valueFiles entry that does not exist in the repository is a warning: Argo CD refuses to sync "
        "unless `ignoreMissingValueFiles` is set."
    ),
    fix="Use the type and value the finding names (see the chart's values.yaml for the exact key).",
    check=check,
    example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gpu-operator, namespace: gpu-operator}
spec:
  interval: 30m
  chart:
    spec: {chart: gpu-operator, version: v26.7.x, sourceRef: {kind: HelmRepository, name: nvidia}}
  values:
    mig:
      strategy: mix
""",
    good_example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gpu-operator, namespace: gpu-operator}
spec:
  interval: 30m
  chart:
    spec: {chart: gpu-operator, version: v26.7.x, sourceRef: {kind: HelmRepository, name: nvidia}}
  values:
    mig:
      strategy: mixed
""",
)
