"""The `render:` section of `.gitops-kit.yaml` → typed settings (bad values are `ConfigError`s)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..config import Config, ConfigError

_KNOWN = {
    "kustomize": "path of a `kustomize` or `kubectl` binary (default: auto-detect kustomize, then kubectl)",
    "timeout": "seconds one overlay may take to render (default 60)",
    "jobs": "overlays rendered at the same time (default: number of cores)",
    "cache": "reuse renders of unchanged overlays (default true)",
}


@dataclass(frozen=True)
class RenderSettings:
    kustomize: str | None = None
    timeout: float = 60.0
    jobs: int = max(1, os.cpu_count() or 1)
    cache: bool = True


def parse_settings(config: Config) -> RenderSettings:
    section: Mapping[str, Any] = config.section("render")
    where = f"{config.source or '.gitops-kit.yaml'}: render"
    for key in section:
        if key not in _KNOWN:
            raise ConfigError(f"{where}.{key}: unknown setting (known: {', '.join(_KNOWN)})")
    defaults = RenderSettings()
    kustomize = section.get("kustomize")
    if kustomize is not None and (not isinstance(kustomize, str) or not kustomize.strip()):
        raise ConfigError(f"{where}.kustomize: must be the path of a kustomize or kubectl binary")
    timeout = section.get("timeout", defaults.timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError(f"{where}.timeout: must be a positive number of seconds")
    jobs = section.get("jobs", defaults.jobs)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs <= 0:
        raise ConfigError(f"{where}.jobs: must be a positive integer")
    cache = section.get("cache", True)
    if not isinstance(cache, bool):
        raise ConfigError(f"{where}.cache: must be true or false")
    return RenderSettings(kustomize=kustomize, timeout=float(timeout), jobs=jobs, cache=cache)
