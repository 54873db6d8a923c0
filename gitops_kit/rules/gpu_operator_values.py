"""gpu-operator-values: NVIDIA gpu-operator Helm values without keys upstream removed.

Types and allowed choices of the values are the helm-values-schema rule's job (schemas/charts/)."""

from __future__ import annotations

import re
from functools import lru_cache

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._helm import EmbeddedValues, embedded_values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

CHART = "gpu-operator"
_VERSION = r"^v?(\d+)\.(\d+)(?:\.(\d+))?"  # compiled on first use (re's cache)


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    from ._yaml import data_table

    return data_table("gpu-operator-values.yaml")


def _version(text: Any) -> tuple[int, int, int] | None:
    """A pinned chart version; None for ranges and wildcards, which could be any release."""
    if not isinstance(text, str) or any(c in text for c in "<>=^~*x|, "):
        return None
    match = re.match(_VERSION, text.strip())
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)) if match else None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def chart_values(doc: Document, ctx: Context | None = None) -> EmbeddedValues | None:
    """The gpu-operator values a HelmRelease or Argo CD Application gives (merged with its value files)."""
    return next((v for v in embedded_values(doc, ctx) if v.chart == CHART), None)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = chart_values(doc, ctx)
    if found is None or not found.values:
        return
    version_text = found.version
    version = _version(version_text)
    table = _table()
    for row in table.get("removed", []):
        keys = row["path"].split(".")
        parent = _get(found.values, *keys[:-1]) if len(keys) > 1 else found.values
        if not isinstance(parent, dict) or keys[-1] not in parent:
            continue
        since = _version(row["since"])
        if version is not None and since is not None and version < since:
            continue
        pinned = f"chart {version_text}" if version is not None else f"an unpinned chart version ({version_text!r})"
        yield Violation(
            f"{row['path']} was removed from the gpu-operator chart in v{row['since']} and is ignored with {pinned}: {row['note']}",
            **found.where(*keys),
            fix=f"Delete {row['path']} from the values.",
        )


RULE = Rule(
    id="gpu-operator-values",
    severity=Severity.WARNING,
    kinds=frozenset({"HelmRelease", "Application"}),
    summary="gpu-operator Helm values use no key that the pinned chart version removed.",
    rationale=(
        "Values copied from older guides keep keys the chart no longer reads: `operator.defaultRuntime` was dropped in "
        "chart v25.3.0 (the runtime is detected), so setting it only misleads the next reader. Removed keys live in "
        "`gitops_kit/data/gpu-operator-values.yaml`; "
        "a removed key is reported when the pinned chart version is at or above the removal, or when the version is "
        "not pinned."
    ),
    fix="Delete keys the chart no longer reads.",
    check=check,
    example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gpu-operator, namespace: kube-system}
spec:
  interval: 30m
  chart:
    spec: {chart: gpu-operator, version: v25.3.0, sourceRef: {kind: HelmRepository, name: nvidia}}
  values:
    operator: {defaultRuntime: containerd}
    mig: {strategy: mixed}
""",
    good_example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gpu-operator, namespace: kube-system}
spec:
  interval: 30m
  chart:
    spec: {chart: gpu-operator, version: v25.3.0, sourceRef: {kind: HelmRepository, name: nvidia}}
  values:
    mig: {strategy: mixed}
""",
    references=("https://github.com/NVIDIA/gpu-operator/blob/main/deployments/gpu-operator/values.yaml",),
)
