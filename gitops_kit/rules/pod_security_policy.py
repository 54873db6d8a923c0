"""pod-security-policy: Pod Security Admission labels must be valid; PodSecurityPolicies map to a PSA level."""

from __future__ import annotations

import re

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._versions import latest_releases, target_version

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
LEVELS = ("privileged", "baseline", "restricted")
_VERSION = r"^(latest|v1\.\d+)$"  # compiled on first use (re's cache)


def _check_namespace(doc: Document) -> Iterator[Violation]:
    for key, value in doc.labels.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        path = ("metadata", "labels", key)
        name = key[len(PREFIX):]
        mode, _, suffix = name.partition("-")
        if mode not in MODES or suffix not in ("", "version"):
            yield Violation(
                f"unknown Pod Security Admission label {key}: the API server ignores it, so nothing is enforced",
                path=path,
                fix=f"Use {PREFIX}<mode> and {PREFIX}<mode>-version with mode one of {', '.join(MODES)}.",
            )
        elif suffix == "version":
            if not (isinstance(value, str) and re.match(_VERSION, value)):
                yield Violation(
                    f"{key}: {value!r} is not a Pod Security Standards version (expected latest or v1.<minor>)",
                    path=path,
                    fix=f"Set {key}: latest, or pin a version like v1.33.",
                )
        elif value not in LEVELS:
            yield Violation(
                f"{key}: {value!r} is not a Pod Security level (expected {', '.join(LEVELS)})",
                path=path,
                fix=f"Set {key} to one of {', '.join(LEVELS)}.",
            )


def suggested_level(spec: Mapping[str, Any]) -> str:
    """The Pod Security Standards level closest to what a PodSecurityPolicy allowed."""
    host_access = any(spec.get(field) for field in ("privileged", "hostNetwork", "hostPID", "hostIPC", "hostPorts"))
    capabilities = spec.get("allowedCapabilities")
    if host_access or (isinstance(capabilities, list) and "*" in capabilities):
        return "privileged"
    run_as = spec.get("runAsUser")
    dropped = spec.get("requiredDropCapabilities")
    if (
        isinstance(run_as, dict)
        and run_as.get("rule") == "MustRunAsNonRoot"
        and isinstance(dropped, list)
        and "ALL" in dropped
        and spec.get("allowPrivilegeEscalation") is False
    ):
        return "restricted"
    return "baseline"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if doc.kind == "Namespace":
        yield from _check_namespace(doc)
        return
    spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
    level = suggested_level(spec if isinstance(spec, dict) else {})
    target = target_version(ctx, "kubernetes", latest_releases())
    state = (
        "has no effect since Kubernetes 1.25 (the API and admission plugin are gone)"
        if target is None or target >= (1, 25)
        else "is deprecated since Kubernetes 1.21 and removed in 1.25"
    )
    yield Violation(
        f"PodSecurityPolicy {doc.name or '?'} {state}; its closest Pod Security Standards level is {level}",
        path=("kind",),
        severity=Severity.INFO,
        fix=(
            f"Delete the PodSecurityPolicy (and its RBAC `use` grants) and label the namespaces it covered with "
            f"{PREFIX}enforce: {level} (and {PREFIX}warn / audit)."
        ),
    )


RULE = Rule(
    id="pod-security-policy",
    severity=Severity.ERROR,
    kinds=frozenset({"Namespace", "PodSecurityPolicy"}),
    summary="A Namespace has an invalid Pod Security Admission label, or a PodSecurityPolicy needs migrating to Pod Security Admission.",
    rationale=(
        "PodSecurityPolicy was removed in Kubernetes 1.25; its successor, Pod Security Admission, is configured by "
        "namespace labels pod-security.kubernetes.io/<enforce|audit|warn>: <privileged|baseline|restricted> and "
        "<mode>-version: latest|v1.<minor>. A misspelt label or level is silently ignored, so the namespace "
        "enforces nothing. For each PodSecurityPolicy still in the repository the rule names the closest level "
        "(info; deprecated-api reports the removed apiVersion itself)."
    ),
    fix="Use one of the three modes and one of the three levels; replace PodSecurityPolicies with namespace labels.",
    check=check,
    example="""\
apiVersion: v1
kind: Namespace
metadata:
  name: gitlab-runners
  labels:
    pod-security.kubernetes.io/enforce: restrictive
""",
    good_example="""\
apiVersion: v1
kind: Namespace
metadata:
  name: gitlab-runners
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
""",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-admission/",),
)
