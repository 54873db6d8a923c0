"""yaml-syntax: the file must be valid UTF-8 YAML. Emitted by the loader (scope "load")."""

from ..model import Severity
from ..rulebase import Rule

RULE = Rule(
    id="yaml-syntax",
    severity=Severity.ERROR,
    scope="load",
    summary="The file is not valid YAML (syntax error, invalid UTF-8, binary content, alias bomb, too deep, too big).",
    rationale=(
        "A file that does not parse is not applied: Flux's kustomize-controller and Argo CD fail the whole "
        "Kustomization or Application, and other validators often skip such files silently (Pluto exits 0). "
        "gitops-kit reports the exact line and column instead."
    ),
    fix="Fix the YAML at the reported line and column; check indentation, tabs, quotes and unclosed brackets.",
    example="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data:
  key: [unclosed
""",
    good_example="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: fixed
data:
  key: "[closed]"
""",
)
