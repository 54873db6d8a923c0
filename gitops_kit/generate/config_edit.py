"""Round-trip edits of `.gitops-kit.yaml` (ruamel.yaml): comments, order and the user's other settings are kept."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..config import parse_config
from .fleet import Cluster, Fleet, parse_fleet
from .names import GenerateError


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def read_fleet(text: str | None) -> Fleet | None:
    """The fleet recorded in the configuration text, or None."""
    if not text:
        return None
    from ruamel.yaml.error import YAMLError

    try:
        data = _yaml().load(text)
    except YAMLError as err:
        raise GenerateError(f".gitops-kit.yaml: invalid YAML: {str(err).splitlines()[0]}") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise GenerateError(".gitops-kit.yaml: must be a mapping of settings")
    return parse_fleet(data.get("fleet"))


def update_config(text: str | None, fleet: Fleet, kubernetes: str) -> str:
    """The configuration text with its `fleet` section describing `fleet` (other content untouched)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = _yaml()
    data = yaml.load(text) if text else None
    if data is None:
        data = CommentedMap()
        data["version"] = 1
    if "targets" not in data:
        data["targets"] = CommentedMap(kubernetes=kubernetes)
    section = data.get("fleet")
    if not isinstance(section, dict):
        section = CommentedMap()
        data["fleet"] = section
    section["flavor"] = fleet.flavor
    for offset, (key, value) in enumerate(fleet.settings().items(), start=1):
        if key not in section:
            section.insert(list(section).index("flavor") + offset, key, value)
        elif section[key] != value:
            section[key] = value
    pool = CommentedMap(ipv4=fleet.pool_ipv4, ipv6=fleet.pool_ipv6)
    pool.fa.set_flow_style()
    if section.get("pod-cidr-pool") != pool:
        section["pod-cidr-pool"] = pool
    entries = section.get("clusters")
    if not isinstance(entries, list):
        entries = CommentedSeq()
        section["clusters"] = entries
    by_name = {entry.get("name"): entry for entry in entries if isinstance(entry, dict)}
    for cluster in fleet.clusters:
        wanted = cluster.as_mapping()
        entry = by_name.get(cluster.name)
        if entry is None:
            entries.append(_flow_entry(wanted))
            continue
        for key, value in wanted.items():
            if _plain(entry.get(key)) != value:
                entry[key] = value
        if not cluster.gpu_model and "gpu-model" in entry:
            del entry["gpu-model"]
    out = io.StringIO()
    yaml.dump(data, out)
    result = out.getvalue()
    parse_config(yaml.load(result), root=Path("."))  # what we write must load cleanly
    return result


def _flow_entry(wanted: dict[str, Any]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    entry = CommentedMap()
    for key, value in wanted.items():
        if isinstance(value, list):
            seq = CommentedSeq(value)
            seq.fa.set_flow_style()
            entry[key] = seq
        elif isinstance(value, dict):
            inner = CommentedMap(value)
            inner.fa.set_flow_style()
            entry[key] = inner
        else:
            entry[key] = value
    entry.fa.set_flow_style()
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def describe(cluster: Cluster) -> str:
    return f"{cluster.name} (id {cluster.id}, pod CIDRs {cluster.pod_cidrs[0]} {cluster.pod_cidrs[1]}, add-ons {','.join(cluster.addons) or 'none'})"
