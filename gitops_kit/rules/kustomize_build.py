"""kustomize-build: every top-level kustomization must build. Emitted by the render stage (scope "load")."""

from ..model import Severity
from ..rulebase import Rule

RULE = Rule(
    id="kustomize-build",
    severity=Severity.ERROR,
    scope="load",
    summary="`kustomize build` fails for a kustomization root (missing resource, bad patch target, invalid field).",
    rationale=(
        "Flux's kustomize-controller and Argo CD run the same build; when it fails nothing in the overlay is "
        "applied and the whole Kustomization or Application stays not-ready. gitops-kit reports kustomize's own "
        "message at the kustomization file (at the entry it names when it can tell) and keeps validating the "
        "other overlays."
    ),
    fix="Fix the entry named in the message (a path that does not exist, a patch whose target is missing, a typo).",
    example="""\
# kustomization.yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - does-not-exist.yaml
""",
    good_example="""\
# kustomization.yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
""",
)
