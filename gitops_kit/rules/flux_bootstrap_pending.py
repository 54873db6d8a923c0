"""flux-bootstrap-pending: a `flux-system` folder waiting for `flux bootstrap` (scope "load", info)."""

from ..model import Severity
from ..rulebase import Rule

RULE = Rule(
    id="flux-bootstrap-pending",
    severity=Severity.INFO,
    scope="load",
    summary="A `clusters/<c>/flux-system/` kustomization lists gotk-components.yaml or gotk-sync.yaml that `flux bootstrap` has not written yet.",
    rationale=(
        "`flux bootstrap` writes gotk-components.yaml and gotk-sync.yaml and keeps an existing kustomization.yaml, "
        "so a repository prepared before bootstrap legitimately lists files that do not exist yet. Building it "
        "would fail; gitops-kit reports one informational line instead and does not render that folder."
    ),
    fix="Run `flux bootstrap` for the cluster, or commit placeholder gotk-*.yaml files (a comment line is enough).",
    example="""\
# clusters/prod/flux-system/kustomization.yaml (gotk-*.yaml not committed yet)
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-components.yaml
  - gotk-sync.yaml
""",
    good_example="""\
# clusters/prod/flux-system/gotk-components.yaml and gotk-sync.yaml exist (written by flux bootstrap,
# or placeholders such as: "# This file will be generated automatically by flux bootstrap.")
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-components.yaml
  - gotk-sync.yaml
""",
)
