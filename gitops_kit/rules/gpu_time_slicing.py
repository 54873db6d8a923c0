"""gpu-time-slicing: NVIDIA device-plugin sharing configs (time-slicing / MPS) the plugin accepts."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._gpu import embedded_configs, unparsable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator

_BOOLEAN_FIELDS = ("renameByDefault", "failRequestsGreaterThanOne")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sharing_problems(sharing: Any) -> Iterator[tuple[str, Severity | None]]:
    if not isinstance(sharing, dict):
        yield "sharing must be a mapping with timeSlicing or mps", None
        return
    if "timeSlicing" in sharing and "mps" in sharing:
        yield "sharing sets both timeSlicing and mps; they are mutually exclusive and mps wins", Severity.WARNING
    for mode in ("timeSlicing", "mps"):
        block = sharing.get(mode)
        if block is None:
            continue
        if not isinstance(block, dict):
            yield f"sharing.{mode} must be a mapping", None
            continue
        for field in _BOOLEAN_FIELDS:
            if field in block and not isinstance(block[field], bool):
                yield f"sharing.{mode}.{field} must be true or false, got {block[field]!r}", None
        resources = block.get("resources")
        if not isinstance(resources, list) or not resources:
            yield f"sharing.{mode}.resources must be a non-empty list (the plugin fails with \"no resources specified\")", None
            continue
        for index, resource in enumerate(resources):
            where = f"sharing.{mode}.resources[{index}]"
            if not isinstance(resource, dict):
                yield f"{where} must be a mapping with name and replicas", None
                continue
            name = resource.get("name")
            if not isinstance(name, str) or not name.startswith("nvidia.com/"):
                yield f"{where}.name must be an nvidia.com/ resource such as nvidia.com/gpu, got {name!r}", None
            replicas = resource.get("replicas")
            if not _is_int(replicas) or replicas < 2:
                yield f"{where}.replicas must be an integer of at least 2 (\"number of replicas must be >= 2\"), got {replicas!r}", None
            for ignored in ("rename", "devices"):
                if ignored in resource:
                    yield f"{where}.{ignored} is ignored by the device plugin (not yet supported); remove it", Severity.WARNING


def check(doc: Document, ctx: Context) -> Iterable[Violation]:
    data = doc.data.get("data")
    # embedded_configs only yields entries whose text holds the marker: an ordinary ConfigMap stops here
    if not isinstance(data, dict) or not any(isinstance(text, str) and "sharing" in text for text in data.values()):
        return ()
    return _check(data)


def _check(data: dict[str, Any]) -> Iterator[Violation]:
    for key, parsed, _text in embedded_configs(data, "sharing"):
        path = ("data", key)
        if unparsable(parsed):
            yield Violation(f"data.{key} looks like a device-plugin config but is not valid YAML", path=path)
            continue
        if parsed.get("version") != "v1":
            found = "it is missing" if "version" not in parsed else f"got {parsed['version']!r}"
            yield Violation(f"data.{key}: device-plugin config needs version: v1 ({found})", path=path)
        for message, severity in _sharing_problems(parsed.get("sharing")):
            yield Violation(f"data.{key}: {message}", path=path, severity=severity)


RULE = Rule(
    id="gpu-time-slicing",
    severity=Severity.ERROR,
    kinds=frozenset({"ConfigMap"}),
    summary="An NVIDIA device-plugin sharing config (time-slicing or MPS) has version v1 and integer replicas of at least 2.",
    rationale=(
        "The device plugin reads the config a node's `nvidia.com/device-plugin.config` label names; a config without "
        "`version: v1`, with no resources, or with `replicas` below 2 or not an integer makes the plugin fail on that "
        "node, so its GPUs disappear from the node's allocatable resources. `rename` and `devices` per resource are "
        "ignored by current plugins, and time-slicing and MPS exclude each other."
    ),
    fix="Write version: v1 and give each shared resource a name (nvidia.com/gpu) and integer replicas >= 2.",
    check=check,
    example="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: nvidia-time-slicing-config, namespace: kube-system}
data:
  slice-4: |-
    sharing:
      timeSlicing:
        resources:
        - name: nvidia.com/gpu
          replicas: "4"
""",
    good_example="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: nvidia-time-slicing-config, namespace: kube-system}
data:
  slice-4: |-
    version: v1
    sharing:
      timeSlicing:
        renameByDefault: true
        failRequestsGreaterThanOne: true
        resources:
        - name: nvidia.com/gpu
          replicas: 4
""",
    references=("https://github.com/NVIDIA/k8s-device-plugin#shared-access-to-gpus",),
)
