#!/usr/bin/env python3
"""Regenerate the example fleets with `gitops-kit new cluster`, or check that the committed ones are current.

    python examples/regenerate.py           # rewrite examples/flux-fleet and examples/argocd-fleet
    python examples/regenerate.py --check   # exit 1 and print the differing files if they are stale

SOPS ciphertext differs on every encryption, so `*.sops.yaml` files are compared by their sops recipients
only. The examples use a public age recipient whose private key was discarded: the placeholder secrets in
them cannot be decrypted by anyone, which is what an example needs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE_RECIPIENT = "age148t5gg73tygxgf2gx9kj9plg4tvslvu47lgrkpz3hl54086629yqu7l2hh"
EXAMPLES = {
    # like the seed's cilium-001/cilium-002 Cluster Mesh, with every add-on
    "flux-fleet": [
        ["cilium-001", "--flavor", "flux", "--addons", "mesh,storage,gpu,runners,kepler", "--gpu-model", "A100-40GB"],
        ["cilium-002", "--flavor", "flux", "--addons", "mesh,storage,gpu,runners,kepler", "--gpu-model", "A100-80GB"],
    ],
    # the same two clusters for one Argo CD per cluster (multi-source Applications, values files, the sops-decrypt plugin)
    "argocd-fleet": [
        ["cilium-001", "--flavor", "argocd", "--addons", "mesh,storage,gpu,runners,kepler", "--gpu-model", "A100-40GB",
         "--repo-url", "https://github.com/gitops-kit/argocd-fleet-example.git"],
        ["cilium-002", "--flavor", "argocd", "--addons", "mesh,storage,gpu,runners,kepler", "--gpu-model", "A100-80GB"],
    ],
}


def generate(target: Path, runs: list[list[str]]) -> None:
    from gitops_kit.cli import main

    for run in runs:
        name, *options = run
        argv = ["new", "cluster", name, "--repo", str(target), "--no-input", "--no-commit", "--age-recipient", EXAMPLE_RECIPIENT, *options]
        if main(argv) != 0:
            raise SystemExit(f"generating {target.name}/{name} failed")


def comparable(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        data = path.read_bytes()
        if relative.endswith(".sops.yaml") and path.name != ".sops.yaml":
            # compare what is stable: that it is encrypted, for whom, and its (plaintext) comments
            lines = data.decode().splitlines()
            recipients = sorted(line.split(":", 1)[1].strip() for line in lines if "- recipient:" in line)
            # sops encrypts the comments inside encrypted values (`#ENC[…]`): only plaintext comments are stable
            comments = [line for line in lines if line.lstrip().startswith("#") and not line.lstrip().startswith("#ENC[")]
            summary = ("encrypted for " + ",".join(recipients)) if b"ENC[AES256_GCM" in data else "NOT ENCRYPTED"
            data = "\n".join([summary, *comments]).encode()
        files[relative] = data
    return files


def _keep_committed_ciphertext(fresh: Path, committed: Path) -> None:
    """Re-encryption changes every byte: keep the committed file when it is encrypted for the same recipients."""
    want, have = comparable(fresh), comparable(committed)
    for path, stable in want.items():
        if path.endswith(".sops.yaml") and path.rsplit("/", 1)[-1] != ".sops.yaml" and have.get(path) == stable:
            (fresh / path).write_bytes((committed / path).read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting; exit 1 when stale")
    args = parser.parse_args()
    stale = False
    with tempfile.TemporaryDirectory(prefix="gitops-kit-examples-") as temp:
        os.environ["GITOPS_KIT_KEY_DIR"] = str(Path(temp) / "keys")  # never touch the user's key directory
        for name, runs in EXAMPLES.items():
            fresh = Path(temp) / name
            generate(fresh, runs)
            committed = HERE / name
            if args.check:
                want, have = comparable(fresh), comparable(committed) if committed.is_dir() else {}
                differing = sorted(p for p in set(want) | set(have) if want.get(p) != have.get(p))
                for path in differing:
                    print(f"examples/{name}/{path}: differs from a fresh generation", file=sys.stderr)
                stale = stale or bool(differing)
            else:
                if committed.exists():
                    _keep_committed_ciphertext(fresh, committed)
                    shutil.rmtree(committed)
                shutil.copytree(fresh, committed)
                print(f"regenerated examples/{name}")
    if stale:
        print("examples are stale: run `python examples/regenerate.py` and commit the result", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
