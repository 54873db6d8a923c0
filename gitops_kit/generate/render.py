"""Render the whole fleet repository with cookiecutter, into a temporary directory (or the folder a new
repository is built in).

The whole fleet is rendered on every run (every mesh member's peer list depends on the others), then
compared with the work tree by plan.py. Output is a pure function of the fleet and the packaged templates:
no timestamps, no random ids. Files that contain Helm or GitHub `{{ }}` syntax are either copied verbatim
(blueprint `controllers/` and `configs/` folders) or keep it inside `{% raw %}` blocks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

from ..fileio import private_temp_dir
from ..resources import cookiecutters_path
from .blueprints import Blueprint, gpu_models, load_blueprints
from .fleet import Cluster, Fleet
from .names import GenerateError

OUTPUT_NAME = "fleet"


def render_fleet(
    fleet: Fleet,
    params: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    *,
    into: Path | None = None,
    clusters_rendered: Callable[[dict[str, bytes]], None] | None = None,
    work: Path | None = None,
) -> dict[str, bytes]:
    """Every generated file of the fleet: POSIX relative path → content.

    `params` maps cluster name → add-on → parameter overrides (validated against the blueprint schema).
    `into`: an empty folder to render into, kept (`new cluster` renders a new repository where it is
    validated and committed); by default a temporary one, removed. `clusters_rendered` is given the files
    rendered so far once the add-ons and every cluster's folders are (the clusters' overlays are complete
    then; the repository-wide files come last): `new cluster` starts building the overlays while the rest
    renders. Those files are not read again: what the callback writes over them in `into` is its own.
    `work`: an empty private folder for cookiecutter's templates and settings, left for the caller to
    remove (the render worker's parent removes it, even when it had to kill the render); by default a
    temporary one, removed.
    """
    from contextlib import nullcontext

    params = params or {}
    blueprints = load_blueprints()
    with nullcontext(str(work)) if work is not None else private_temp_dir("gitops-kit-render-") as temp:
        work = Path(temp)
        config_file = _cookiecutter_config(work)
        root = into if into is not None else work / "out" / OUTPUT_NAME
        used = [b for b in blueprints.values() if any(b.name in c.addons for c in fleet.clusters)]
        if fleet.flavor == "argocd":
            _render_argocd(fleet, params, blueprints, used, work, root, config_file)
        else:
            _render_flux(fleet, params, blueprints, used, work, root, config_file)
        clusters = _read_tree(root)
        if clusters_rendered is not None:
            clusters_rendered(dict(clusters))
        # no file of these two is also a cluster's or an add-on's, so the order does not change the output
        fleet_context = {"fleet": _fleet_context(fleet)}
        _cookiecutter(cookiecutters_path("fleet-common"), root, config_file, fleet_context)
        _cookiecutter(cookiecutters_path(f"{fleet.flavor}-repo"), root, config_file, fleet_context)
        files = _read_tree(root, skip=clusters)
        files.update(clusters)
        return dict(sorted(files.items(), key=_path_order))


def _path_order(item: tuple[str, bytes]) -> list[str]:
    # folder by folder, as pathlib sorts: `apps/x.yaml` before `apps.yaml`, `a/b` before `a-b/c`
    return item[0].split("/")


def _read_tree(root: Path, skip: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """The files under `root` (POSIX relative path → content), but not those in `skip`."""
    files = {}
    for current, _dirs, names in os.walk(root):
        folder = Path(current).relative_to(root).as_posix()
        for name in names:
            path = name if folder == "." else f"{folder}/{name}"
            if skip is None or path not in skip:
                files[path] = (Path(current) / name).read_bytes()
    return files


def _render_flux(fleet, params, blueprints, used, work: Path, root: Path, config_file: Path) -> None:
    for blueprint in used:
        _copy_tree(blueprint.folder / "controllers", root / "infrastructure" / "controllers" / "base" / blueprint.name)
        if blueprint.has_configs:
            _copy_tree(blueprint.folder / "configs", root / "infrastructure" / "configs" / "base" / blueprint.name)
    for cluster in fleet.clusters:
        selected = [blueprints[name] for name in blueprints if name in cluster.addons]
        template = _cluster_template(work / f"template-{cluster.name}", fleet.flavor, selected)
        context = _cluster_context(fleet, cluster, selected, params.get(cluster.name, {}))
        _cookiecutter(template, root, config_file, context)


def _render_argocd(fleet, params, blueprints, used, work: Path, root: Path, config_file: Path) -> None:
    from . import argocd

    for blueprint in used:
        plain = argocd.plain_files(blueprint)
        target = root / "addons" / blueprint.name
        target.mkdir(parents=True, exist_ok=True)
        for name in plain:
            shutil.copyfile(blueprint.folder / "controllers" / name, target / name)
        (target / "kustomization.yaml").write_bytes(argocd.addon_kustomization(plain))
        if blueprint.has_configs:
            _copy_tree(blueprint.folder / "configs", target / "configs")
    for cluster in fleet.clusters:
        selected = [blueprints[name] for name in blueprints if name in cluster.addons]
        template = _cluster_template(work / f"template-{cluster.name}", fleet.flavor, selected)
        context = _cluster_context(fleet, cluster, selected, params.get(cluster.name, {}))
        layout: dict[str, dict[str, Any]] = {}
        for blueprint in selected:
            own = [*blueprint.resources, *blueprint.secrets]
            layout[blueprint.name] = {
                "shared": f"addons/{blueprint.name}" if argocd.plain_files(blueprint) else "",
                # no kustomization here: the sops-decrypt plugin reads the folder (plain files and *.sops.yaml)
                "own": f"clusters/{cluster.name}/addons/{blueprint.name}" if own else "",
            }
        bare = {b.name: argocd.charts(b, []) for b in selected}
        context["argo"] = {"apps": argocd.applications(selected, bare, cluster.name, layout)}
        _cookiecutter(template, root, config_file, context)
        for blueprint in selected:
            merged = argocd.charts(blueprint, argocd.rendered_patches(root, cluster.name, blueprint))
            for path, content in argocd.values_files(cluster.name, {blueprint.name: merged}).items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(content)
            folder = root / "clusters" / cluster.name / "addons" / blueprint.name
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        addons_dir = root / "clusters" / cluster.name / "addons"
        if addons_dir.is_dir() and not any(addons_dir.iterdir()):
            addons_dir.rmdir()


def _cookiecutter_config(work: Path) -> Path:
    # keep cookiecutter's replay files out of the user's home directory
    config = work / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {work / 'cc'}\nreplay_dir: {work / 'replay'}\n", encoding="utf-8")
    return config


def _cookiecutter(template: Path, root: Path, config_file: Path, context: Mapping[str, Any]) -> None:
    """Render `template` into the folder `root` (created if need be; files already there are overwritten)."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter
    from jinja2 import TemplateError

    try:
        cookiecutter(
            str(template),
            no_input=True,
            extra_context={"_dir": root.name, **context},
            output_dir=str(root.parent),
            overwrite_if_exists=True,
            config_file=str(config_file),
            accept_hooks=False,
        )
    except (CookiecutterException, TemplateError) as err:  # a template bug, not user input: still one clear line
        where = f" ({err.filename}:{err.lineno})" if getattr(err, "filename", None) else ""
        raise GenerateError(f"rendering template {template.name} failed{where}: {str(err).splitlines()[0]}") from None


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True)


def _cluster_template(folder: Path, flavor: str, blueprints: list[Blueprint]) -> Path:
    """The flavour's per-cluster template plus each add-on's `cluster/` files, as one cookiecutter template."""
    shutil.copytree(cookiecutters_path(f"{flavor}-cluster"), folder)
    base = folder / "{{cookiecutter._dir}}"
    for blueprint in blueprints:
        for name in (*blueprint.patches, *blueprint.resources, *blueprint.secrets):
            target = base / _cluster_file(flavor, "{{cookiecutter.cluster.name}}", blueprint, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(blueprint.folder / "cluster" / name, target)
    return folder


def _cluster_file(flavor: str, cluster: str, blueprint: Blueprint, name: str) -> str:
    """Where an add-on's `cluster/<name>` file goes in the repository."""
    if flavor == "argocd":
        # Argo CD: one folder per add-on, read by the sops-decrypt plugin (no kustomization)
        return f"clusters/{cluster}/addons/{blueprint.name}/{name}"
    return f"infrastructure/controllers/{cluster}/{blueprint.name}-{name}"


def template_kinds(fleet: Fleet) -> set[tuple[str, str]]:
    """The (apiVersion, kind) pairs the fleet's templates spell out literally, read without rendering
    anything: `new cluster` resolves their schemas while cookiecutter renders. A hint only (a kind a
    template computes is missed); the validator reads the real files."""
    import re

    pattern = re.compile(r"^apiVersion:[ \t]*['\"]?([\w./-]+)['\"]?[ \t]*$.*?^kind:[ \t]*['\"]?(\w+)['\"]?[ \t]*$", re.M | re.S)
    paths = []
    for name in (f"{fleet.flavor}-cluster", f"{fleet.flavor}-repo", "fleet-common"):
        paths += [Path(current, file) for current, _dirs, files in os.walk(cookiecutters_path(name)) for file in files]
    for blueprint in load_blueprints().values():
        if any(blueprint.name in c.addons for c in fleet.clusters):
            # Argo CD: the HelmRelease value patches become plain values files
            patches = blueprint.patches if fleet.flavor != "argocd" else ()
            paths += [blueprint.folder / "cluster" / name for name in (*patches, *blueprint.resources, *blueprint.secrets)]
            if blueprint.has_configs:
                paths += [p for p in (blueprint.folder / "configs").rglob("*") if p.is_file()]
            if fleet.flavor == "argocd":  # the add-on's charts become Applications; its plain files are kept
                from . import argocd

                paths += [blueprint.folder / "controllers" / name for name in argocd.plain_files(blueprint)]
            else:
                paths += [p for p in (blueprint.folder / "controllers").rglob("*") if p.is_file()]
    kinds: set[tuple[str, str]] = set()
    for path in paths:
        if path.suffix in (".yaml", ".yml"):
            for document in path.read_text(encoding="utf-8", errors="replace").split("\n---"):
                kinds.update(pattern.findall(document))
    return kinds


def render_secrets(fleet: Fleet) -> dict[str, bytes] | None:
    """Every cluster's add-on Secrets (the `cluster/*.sops.yaml` templates), rendered in memory as
    `render_fleet` renders them, before cookiecutter is even imported: `new cluster` starts sops on them
    while cookiecutter renders the rest. `render_fleet` stays the reference: the generator uses what
    was encrypted here only where it equals what `render_fleet` produced.

    A plain Jinja environment with cookiecutter's settings (strict undefined variables, trailing newline
    kept) and the same `cookiecutter` context. None when a template needs more than that (a cookiecutter
    filter, say): the Secrets are then encrypted after `render_fleet`, as they always could be."""
    import jinja2

    blueprints = load_blueprints()
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    rendered: dict[str, bytes] = {}
    try:
        for cluster in fleet.clusters:
            selected = [blueprints[name] for name in blueprints if name in cluster.addons]
            if not any(b.secrets for b in selected):
                continue
            context = {"cookiecutter": {"_dir": OUTPUT_NAME, **_cluster_context(fleet, cluster, selected, {})}}
            for blueprint in selected:
                for name in blueprint.secrets:
                    source = (blueprint.folder / "cluster" / name).read_text(encoding="utf-8")
                    text = environment.from_string(source).render(context)
                    rendered[_cluster_file(fleet.flavor, cluster.name, blueprint, name)] = text.encode("utf-8")
    except (jinja2.TemplateError, OSError, UnicodeError, GenerateError):
        return None
    return rendered


def mesh_peers(fleet: Fleet, cluster: Cluster) -> list[dict[str, Any]]:
    """Every other mesh member of the fleet, ordered by cluster id."""
    if "mesh" not in cluster.addons:
        return []
    return [
        {"name": c.name, "id": c.id}
        for c in sorted(fleet.clusters, key=lambda c: c.id)
        if c.name != cluster.name and "mesh" in c.addons
    ]


def _fleet_context(fleet: Fleet) -> dict[str, Any]:
    from .fleet import PLACEHOLDER_REPO_URL

    kit = fleet.kit_repo.rstrip("/").removesuffix(".git")
    github = kit.startswith("https://github.com/")
    owner_repo = kit.removeprefix("https://github.com/") if github else ""
    if github:
        gitlab_template = f"https://raw.githubusercontent.com/{owner_repo}/{fleet.kit_rev}/templates/gitlab-ci.yml"
    else:
        gitlab_template = f"{kit}/-/raw/{fleet.kit_rev}/templates/gitlab-ci.yml"
    return {
        "flavor": fleet.flavor,
        "clusters": [c.name for c in fleet.clusters],
        "repo_url": fleet.repo_url or PLACEHOLDER_REPO_URL,
        "kit": {"repo": kit, "rev": fleet.kit_rev, "action": f"{owner_repo}@{fleet.kit_rev}" if github else "", "gitlab_template": gitlab_template},
    }


def _cluster_context(
    fleet: Fleet, cluster: Cluster, blueprints: list[Blueprint], overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for blueprint in blueprints:
        given = dict(overrides.get(blueprint.name, {}))
        if blueprint.name == "gpu" and cluster.gpu_model:
            given["gpu-model"] = cluster.gpu_model
        values = blueprint.parameters(given)
        if blueprint.name == "gpu":
            values["mig_configs"] = gpu_models()[values["gpu-model"]]
        params[blueprint.name] = values
    return {
        "fleet": _fleet_context(fleet),
        "cluster": {
            "name": cluster.name,
            "id": cluster.id,
            "pod_cidrs": list(cluster.pod_cidrs),
            "kubernetes": cluster.kubernetes,
            "mesh_peers": mesh_peers(fleet, cluster),
        },
        "params": params,
        "layout": {
            "addons": [b.name for b in blueprints],
            "patches": [f"{b.name}-{name}" for b in blueprints for name in b.patches],
            "resources": [f"{b.name}-{name}" for b in blueprints for name in (*b.resources, *b.secrets)],
            "configs": [b.name for b in blueprints if b.has_configs],
        },
    }
