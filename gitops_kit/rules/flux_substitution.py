"""flux-substitution: every `${VAR}` in what a Flux Kustomization renders must resolve (render stage, scope "load")."""

from ..model import Severity
from ..rulebase import Rule

RULE = Rule(
    id="flux-substitution",
    severity=Severity.ERROR,
    scope="load",
    summary="A `${VAR}` in an overlay is not set by the Flux Kustomization's postBuild.substitute or substituteFrom, or a substituteFrom source is missing.",
    rationale=(
        "kustomize-controller replaces an unset variable with an empty string (unless strict substitution is "
        "enabled, when the whole Kustomization fails), so a typo in `${CLUSTER_ID}` silently ships an empty "
        "cluster id or CIDR. gitops-kit resolves the variables offline from the ConfigMaps and Secrets in the "
        "repository (SOPS-encrypted values count as set, they are never decrypted)."
    ),
    fix=(
        "Add the variable to `spec.postBuild.substitute` or to the ConfigMap/Secret named in `substituteFrom`, "
        "give it a default (`${VAR:=default}`), or escape a literal as `$${VAR}`."
    ),
    example="""\
# clusters/prod/apps.yaml
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  path: ./apps/prod
  postBuild:
    substitute: {CLUSTER_NAME: prod}
# apps/prod/config.yaml uses ${CLUSTER_ID}: not set anywhere
""",
    good_example="""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  path: ./apps/prod
  postBuild:
    substitute: {CLUSTER_NAME: prod, CLUSTER_ID: "7"}
""",
)
