"""yaml-octal-number: an integer written with a leading zero, which YAML tools read two ways. Emitted by the loader."""

from ..model import Severity
from ..rulebase import Rule

RULE = Rule(
    id="yaml-octal-number",
    severity=Severity.WARNING,
    scope="load",
    summary="An integer is written with a leading zero (`id: 010`): kubectl, Helm, Flux and Argo CD read it as octal.",
    rationale=(
        "The Go YAML libraries behind kubectl, kustomize, Helm, Flux and Argo CD follow YAML 1.1 and read "
        "`010` as the octal number 8, while YAML 1.2 tools (and gitops-kit's own loader) read 10. A Cilium "
        "`cluster.id: 010` is cluster 8 in the cluster, which can collide with a real cluster 8 of the mesh; "
        "`port: 080` is not even a number there. The seed's `id: 002` happens to mean 2 either way. File "
        "modes (`defaultMode: 0644`, keys ending in `mode`/`Mode`) are octal on purpose and not reported."
    ),
    fix="Write the number without the leading zero (`id: 10`, or `8` if octal was meant), or quote it if it is a string.",
    example="""\
cluster:
  name: cilium-010
  id: 010
""",
    good_example="""\
cluster:
  name: cilium-010
  id: 10
""",
)
