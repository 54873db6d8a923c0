"""gitops-kit: scaffold and validate GitOps repositories for fleets of Kubernetes clusters.

Public API (typed; see `py.typed`)::

    import gitops_kit
    report = gitops_kit.validate(["clusters/"])
    for finding in report.findings:
        print(finding.location, finding.rule_id, finding.message)

Names are imported lazily so that `gitops-kit validate one-file.yaml` starts fast.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs start-up time

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "Finding",
    "PathError",
    "Report",
    "Severity",
    "UserError",
    "__version__",
    "load_config",
    "validate",
]

_LAZY = {
    "validate": ("engine", "validate"),
    "Report": ("model", "Report"),
    "Finding": ("model", "Finding"),
    "Severity": ("model", "Severity"),
    "Config": ("config", "Config"),
    "ConfigError": ("config", "ConfigError"),
    "load_config": ("config", "load_config"),
    "PathError": ("discover", "PathError"),
    "UserError": ("errors", "UserError"),
}

if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from .config import Config, ConfigError, load_config
    from .discover import PathError
    from .engine import validate
    from .errors import UserError
    from .model import Finding, Report, Severity


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f".{module_name}", __name__), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gitops_kit' has no attribute {name!r}")
