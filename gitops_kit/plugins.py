"""Where the extension points (rules, output formats, CLI commands) find their modules.

A directory listing, not `pkgutil.iter_modules`: `pkgutil` imports `inspect`, and these lookups sit
on the start-up path of `gitops-kit validate one-file.yaml`, which is a benchmark bar.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable


def module_names(folders: Iterable[str]) -> list[str]:
    """Public module names (not starting with `_`) of a package's folders, sorted."""
    found = set()
    for folder in folders:
        for filename in os.listdir(folder):
            stem, _, extension = filename.partition(".")
            if extension == "py" and not stem.startswith("_"):
                found.add(stem)
    return sorted(found)
