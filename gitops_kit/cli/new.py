"""`gitops-kit new cluster NAME …`: add a cluster to a fleet repository (creating the repository on first use)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ADDONS_DEFAULT = "mesh,storage,gpu,runners,kepler"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("new", help="scaffold a fleet repository or add a cluster to it", description="Scaffold GitOps repositories.")
    kinds = parser.add_subparsers(dest="what", metavar="WHAT")
    cluster = kinds.add_parser(
        "cluster",
        help="add a cluster (with add-ons) to the fleet repository",
        description="Add a cluster to the fleet repository at --repo: allocate its id and pod CIDRs, render its "
        "manifests and every mesh peer list, validate, write and commit. Re-running with the same answers changes nothing.",
    )
    cluster.add_argument("name", metavar="NAME", help="cluster name (a DNS label, e.g. cilium-001)")
    cluster.add_argument("--repo", default=".", metavar="DIR", help="fleet repository (created if missing; default: .)")
    cluster.add_argument("--flavor", choices=["flux", "argocd"], default=None, help="GitOps engine (default: the fleet's, else flux)")
    cluster.add_argument("--addons", default=None, metavar="LIST", help=f"comma-separated add-ons (default: {ADDONS_DEFAULT})")
    cluster.add_argument("--kubernetes-version", default="1.33", metavar="X.Y", help="target Kubernetes minor (default: 1.33)")
    cluster.add_argument("--pod-cidr", default="auto", metavar="auto|CIDR[,CIDR6]", help="pod CIDRs (default: next free in the fleet's pool)")
    cluster.add_argument("--cluster-id", default="auto", metavar="auto|N", help="Cluster Mesh id 1-255 (default: next free)")
    cluster.add_argument("--gpu-model", default=None, metavar="MODEL", help="GPU model for the MIG profiles (default: A100-40GB)")
    cluster.add_argument(
        "--ingress",
        choices=["gateway-api", "nginx"],
        default="gateway-api",
        help="gateway-api (default: Cilium's Gateway API support) or nginx (the retired ingress-nginx, as in CERN's mesh setup)",
    )
    cluster.add_argument("--age-recipient", default=None, metavar="age1…", help="age recipient for this cluster's secrets (default: generate a key outside the repository)")
    cluster.add_argument("--repo-url", default=None, metavar="URL", help="Git URL Argo CD reads the fleet repository from (recorded in .gitops-kit.yaml)")
    cluster.add_argument(
        "--gitops-kit-repo", default=None, metavar="URL", help="where the fleet's CI and pre-commit hooks get gitops-kit from (default: https://github.com/gitops-kit/gitops-kit)"
    )
    cluster.add_argument("--gitops-kit-rev", default=None, metavar="REV", help="gitops-kit tag or commit the fleet's CI and hooks use (default: v0.1.0)")
    cluster.add_argument("--no-input", action="store_true", help="never prompt (prompts only appear on a terminal)")
    cluster.add_argument("--dry-run", action="store_true", help="print the plan and the diff; write nothing")
    cluster.add_argument("--force", action="store_true", help="overwrite files changed since gitops-kit generated them")
    cluster.add_argument("--no-commit", action="store_true", help="write the files but do not git init/commit")
    cluster.set_defaults(func=run)
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])


def _prompt(question: str, default: str) -> str:
    answer = input(f"{question} [{default}]: ").strip()
    return answer or default


def run(args: argparse.Namespace) -> int:
    import gc

    # A short run that allocates in bursts (cookiecutter's and the rules' imports, the schema bundle, the
    # render) and makes little cyclic garbage: with the default gen-0 threshold (700) the collector ran
    # ~120 times here (~0.04 s of CPU, finding next to nothing); with 50,000, one collection of the young
    # objects the imports had left still took ~15 ms. At this threshold it does not run during a run
    # (peak memory the same on a 13-cluster fleet).
    gc.set_threshold(1_000_000, *gc.get_threshold()[1:])
    from ..generate.config_edit import describe
    from ..generate.fleet import PLACEHOLDER_REPO_URL
    from ..generate.generator import Answers, existing_fleet, generate
    from ..generate.names import parse_addons

    repo = Path(args.repo)
    fleet = existing_fleet(repo)
    flavor = args.flavor or (fleet.flavor if fleet else None) or "flux"
    addons = args.addons
    gpu_model = args.gpu_model
    repo_url = args.repo_url
    if not args.no_input and sys.stdin.isatty() and sys.stdout.isatty():
        if args.flavor is None:
            flavor = _prompt("GitOps flavour (flux|argocd)", flavor)
        if flavor == "argocd" and repo_url is None and not (fleet and fleet.repo_url):
            repo_url = _prompt("Git URL Argo CD reads this repository from", PLACEHOLDER_REPO_URL)
        if addons is None:
            addons = _prompt("Add-ons", ADDONS_DEFAULT)
        if gpu_model is None and "gpu" in parse_addons(addons):
            gpu_model = _prompt("GPU model", "A100-40GB")
    addon_list = parse_addons(addons if addons is not None else ADDONS_DEFAULT)
    if args.ingress == "nginx" and "ingress-nginx" not in addon_list:
        addon_list.append("ingress-nginx")
    answers = Answers(
        name=args.name,
        repo=repo,
        flavor=flavor,
        addons=tuple(addon_list),
        kubernetes=args.kubernetes_version,
        pod_cidr=args.pod_cidr,
        cluster_id=args.cluster_id,
        gpu_model=gpu_model,
        age_recipient=args.age_recipient,
        dry_run=args.dry_run,
        force=args.force,
        commit=not args.no_commit,
        repo_url=repo_url,
        kit_repo=args.gitops_kit_repo,
        kit_rev=args.gitops_kit_rev,
    )
    result = generate(answers)
    plan = result.plan
    print(f"cluster {describe(result.cluster)}")
    if flavor == "argocd" and (repo_url or (fleet.repo_url if fleet else None) or PLACEHOLDER_REPO_URL) == PLACEHOLDER_REPO_URL:
        print(f"note: the Applications read {PLACEHOLDER_REPO_URL}; give the real Git URL with --repo-url")
    needs = "the sops-decrypt sidecar of Argo CD's repo-server needs it as Secret sops-age, key keys.txt" if flavor == "argocd" else "Flux needs it as Secret sops-age"
    for key_path in result.new_keys:
        if key_path.suffix == ".pem":
            print(f"the fleet's Cluster Mesh CA written outside the repository: {key_path} (keep it safe; new mesh members need it)")
        else:
            print(f"age key for {result.cluster.name} written outside the repository: {key_path} (keep it safe; {needs})")
    if args.dry_run:
        for path in plan.create:
            print(f"  create {path}")
        for path in plan.update:
            print(f"  update {path}")
        for path in plan.delete:
            print(f"  delete {path}")
        print(f"dry run: {len(plan.create)} to create, {len(plan.update)} to update, {len(plan.delete)} to delete, nothing written")
        for diff in result.diffs:
            sys.stdout.write(diff)
        return 0
    if not plan.changes:
        print("nothing to do: the repository already matches these answers")
        return 0
    print(f"{len(plan.create)} created, {len(plan.update)} updated, {len(plan.delete)} deleted in {repo}")
    if result.committed:
        print(f"committed {result.committed[:12]}")
    return 0
