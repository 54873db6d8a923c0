"""Add-on blueprints: `blueprints/<addon>/blueprint.yaml` plus its folders. Adding an add-on = adding a folder.

A blueprint folder holds `controllers/` (Flux: copied verbatim to `infrastructure/controllers/base/<addon>/`),
optionally `configs/` (copied verbatim to `infrastructure/configs/base/<addon>/`) and `cluster/` (cookiecutter
templates rendered per cluster into `infrastructure/controllers/<cluster>/<addon>-<file>`; `cluster.patches`
lists the HelmRelease value patches, `cluster.resources` the extra objects, `cluster.secrets` the Secrets
that are SOPS-encrypted before anything reaches the work tree). The Argo CD flavour derives its Applications
and values files from the same folders (argocd.py); `argocd.chart-versions` pins OCI charts for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..resources import blueprints_path
from .names import GenerateError


@dataclass(frozen=True)
class Blueprint:
    name: str
    folder: Path
    summary: str
    order: int
    schema: Mapping[str, Any]
    defaults: Mapping[str, Any]
    patches: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    doc: str = "README.md"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_configs(self) -> bool:
        return (self.folder / "configs").is_dir()

    def parameters(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults merged with `overrides`, checked against the blueprint's JSON schema."""
        from .._native import jsonschema_rs

        values = {**self.defaults, **(overrides or {})}
        # jsonschema_rs, not the jsonschema library: importing that one costs `new cluster` ≈ 40 ms
        validator = jsonschema_rs().validator_for(dict(self.schema), validate_formats=False)
        errors = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.instance_path])
        if errors:
            error = errors[0]
            where = ".".join(str(p) for p in error.instance_path) or "(parameters)"
            raise GenerateError(f"add-on {self.name}: parameter {where}: {error.message}")
        return values


@lru_cache(maxsize=None)
def load_blueprints() -> dict[str, Blueprint]:
    """Every blueprint, in deployment order (CNI first, then CSI, GPU, runners, Kepler)."""
    found: list[Blueprint] = []
    for folder in sorted(p for p in blueprints_path().iterdir() if (p / "blueprint.yaml").is_file()):
        data = _read_yaml(folder / "blueprint.yaml")
        params = data.get("parameters") or {}
        cluster = data.get("cluster") or {}
        found.append(
            Blueprint(
                name=str(data["name"]),
                folder=folder,
                summary=str(data.get("summary", "")),
                order=int(data.get("order", 100)),
                schema=params.get("schema") or {"type": "object"},
                defaults=params.get("defaults") or {},
                patches=tuple(cluster.get("patches") or ()),
                resources=tuple(cluster.get("resources") or ()),
                secrets=tuple(cluster.get("secrets") or ()),
                requires=tuple(data.get("requires") or ()),
                doc=str(data.get("doc", "README.md")),
                extra={"argocd": data.get("argocd") or {}},
            )
        )
    found.sort(key=lambda b: (b.order, b.name))
    return {b.name: b for b in found}


@lru_cache(maxsize=None)
def gpu_models() -> dict[str, dict[str, dict[str, int]]]:
    """MIG configurations per GPU model, from `blueprints/gpu/gpu-models.yaml`."""
    data = _read_yaml(blueprints_path("gpu", "gpu-models.yaml"))
    return {str(model): {str(k): dict(v) for k, v in configs.items()} for model, configs in data.items()}


def _read_yaml(path: Path) -> Any:
    """A packaged data file, through the fast loader (ruamel.yaml's pure-Python safe loader took
    ≈ 60 ms of every `new cluster` for these few files)."""
    from .._native import yaml_loads

    return yaml_loads(path.read_text(encoding="utf-8"))


def check_gpu_model(model: str) -> str:
    models = gpu_models()
    if model not in models:
        raise GenerateError(f"unknown GPU model {model!r} (known: {', '.join(models)})")
    return model


def check_requirements(addons: list[str]) -> None:
    """Every selected add-on's `requires` is selected too."""
    blueprints = load_blueprints()
    for name in addons:
        missing = [r for r in blueprints[name].requires if r not in addons]
        if missing:
            raise GenerateError(f"add-on {name} needs add-on {missing[0]} (add it to --addons)")
