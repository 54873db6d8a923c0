"""`new cluster` end to end: answers → fleet → render → validate in a scratch copy → plan → write → commit."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import CONFIG_NAME
from ..fileio import atomic_write_bytes, check_inside, private_temp_dir
from .blueprints import check_gpu_model, check_requirements, load_blueprints
from .config_edit import read_fleet, update_config
from .fleet import DEFAULT_POOL, Cluster, Fleet, cluster_for
from .names import GenerateError, check_addons, check_cluster_name, check_kubernetes_version
from .plan import MANIFEST_PATH, Plan, make_plan, parse_manifest, render_manifest, unified_diff
from . import mesh_ca
from .prefetch import Prefetch
from .render import render_fleet
from .secrets import SOPS_CONFIG, is_secret_path, secret_cluster, Recipient, choose_recipient, encrypt_new_secrets, sops_config_with_rule, write_new_key

# `flux bootstrap` overwrites these placeholders with Flux's own manifests: write them once, never again.
BOOTSTRAP_PLACEHOLDERS = ("gotk-components.yaml", "gotk-sync.yaml")


@dataclass(frozen=True)
class Answers:
    name: str
    repo: Path
    flavor: str = "flux"
    addons: tuple[str, ...] = ("mesh", "storage", "gpu", "runners", "kepler")
    kubernetes: str = "1.33"
    pod_cidr: str = "auto"
    cluster_id: str = "auto"
    gpu_model: str | None = None
    age_recipient: str | None = None
    dry_run: bool = False
    force: bool = False
    commit: bool = True
    # fleet-wide settings; None keeps what .gitops-kit.yaml records
    repo_url: str | None = None
    kit_repo: str | None = None
    kit_rev: str | None = None


@dataclass
class Result:
    cluster: Cluster
    plan: Plan
    committed: str | None = None
    diffs: list[str] = field(default_factory=list)
    new_keys: list[Path] = field(default_factory=list)


def existing_fleet(repo: Path) -> Fleet | None:
    """The fleet recorded in the repository, if there is one."""
    return read_fleet(_read_text(repo / CONFIG_NAME))


def prepare(answers: Answers, prefetch: Prefetch | None = None) -> tuple[Fleet, Cluster, dict[str, bytes], Plan, list[Recipient]]:
    """Everything up to the plan; reads the repository, writes nothing (new age keys are returned, not written).

    `prefetch`, when validation follows, gets to load what the validator needs while sops runs."""
    name = check_cluster_name(answers.name)
    known = list(load_blueprints())
    addons = check_addons(list(answers.addons), known)
    check_requirements(addons)
    kubernetes = check_kubernetes_version(answers.kubernetes)
    gpu_model = check_gpu_model(answers.gpu_model or "A100-40GB") if "gpu" in addons else None
    if answers.gpu_model and "gpu" not in addons:
        raise GenerateError("--gpu-model is only meaningful with the gpu add-on")
    repo = answers.repo
    if repo.exists() and not repo.is_dir():
        raise GenerateError(f"{repo}: not a directory")
    config_text = _read_text(repo / CONFIG_NAME)
    fleet = read_fleet(config_text)
    if fleet is None:
        fleet = Fleet(answers.flavor, DEFAULT_POOL["ipv4"], DEFAULT_POOL["ipv6"])
    elif fleet.flavor != answers.flavor:
        raise GenerateError(f"{repo / CONFIG_NAME}: the fleet is a {fleet.flavor} fleet; run with --flavor {fleet.flavor}")
    fleet = _with_settings(fleet, answers)
    cluster = cluster_for(
        fleet, name, addons, cluster_id=answers.cluster_id, pod_cidr=answers.pod_cidr, gpu_model=gpu_model, kubernetes=kubernetes
    )
    fleet = fleet.with_cluster(cluster)
    files = render_fleet(fleet)
    manifest = parse_manifest(_read_text(repo / MANIFEST_PATH))
    create_only = frozenset(
        p for p in files if p.rsplit("/", 1)[-1] in BOOTSTRAP_PLACEHOLDERS or is_secret_path(p)
    )

    def meanwhile(sops_running: Callable[[], bool]) -> None:
        """What needs no ciphertext, done while sops encrypts (after `.sops.yaml` has its rules)."""
        files[CONFIG_NAME] = update_config(config_text, fleet, kubernetes).encode("utf-8")
        # create-only files belong to Flux or to the user once written: not recorded, so the manifest stays
        # deterministic (ciphertext differs on every encryption) and such files are never deleted
        files[MANIFEST_PATH] = render_manifest({p: c for p, c in files.items() if p != CONFIG_NAME and p not in create_only})
        if prefetch is not None:
            prefetch.warm_validator(repo, files, create_only, sops_running)

    files, new_keys = _secure(repo, fleet, cluster, answers, files, meanwhile)
    current = {path: _read_bytes(repo / path) for path in {*files, *manifest}}
    plan = make_plan(
        files, current, manifest, managed=frozenset({CONFIG_NAME, MANIFEST_PATH}), force=answers.force, create_only=create_only
    )
    return fleet, cluster, files, plan, new_keys


def _with_settings(fleet: Fleet, answers: Answers) -> Fleet:
    from dataclasses import replace

    from .fleet import check_setting

    changes = {}
    for field_name, key, flag in (("repo_url", "repo-url", "--repo-url"), ("kit_repo", "gitops-kit-repo", "--gitops-kit-repo"), ("kit_rev", "gitops-kit-rev", "--gitops-kit-rev")):
        value = getattr(answers, field_name)
        if value is not None:
            changes[field_name] = check_setting(key, value, flag)
    return replace(fleet, **changes) if changes else fleet


def _secure(
    repo: Path, fleet: Fleet, cluster: Cluster, answers: Answers, files: dict[str, bytes], meanwhile: Callable[[Callable[[], bool]], None]
) -> tuple[dict[str, bytes], list[Recipient]]:
    """Replace every rendered Secret by its ciphertext (or the existing file) and add the `.sops.yaml` rules.

    `meanwhile` runs once `.sops.yaml` is final, while sops encrypts."""
    secret_paths = [p for p in files if is_secret_path(p)]
    sops_text = _read_text(repo / SOPS_CONFIG)
    new_keys: list[Recipient] = []
    missing: dict[str, list[str]] = {}
    for path in secret_paths:
        existing = _read_bytes(repo / path)
        if existing is not None:
            files[path] = existing
        else:
            missing.setdefault(secret_cluster(path), []).append(path)
    # the target cluster always gets its rule, so later secrets (gitops-kit secrets …) find a recipient
    needs_rule = [c.name for c in fleet.clusters if c.name in missing or c.name == cluster.name]
    for name in needs_rule:
        recipient = choose_recipient(repo, name, answers.age_recipient if name == cluster.name else None, sops_text, fleet.flavor)
        if recipient.identity is not None:
            new_keys.append(recipient)
        sops_text = sops_config_with_rule(sops_text, name, recipient.recipient, fleet.flavor).decode("utf-8")
    if sops_text is not None:
        files[SOPS_CONFIG] = sops_text.encode("utf-8")
    to_encrypt = [p for paths in missing.values() for p in paths]
    needs_ca = [p for p in to_encrypt if p.endswith(mesh_ca.CA_SECRET_NAME)]
    if needs_ca and not answers.dry_run:
        members = sorted(secret_cluster(p) for p in secret_paths if p.endswith(mesh_ca.CA_SECRET_NAME) and p not in needs_ca)
        ca = mesh_ca.fleet_ca(repo, members)
        for path in needs_ca:
            files[path] = ca.fill(files[path])
        if ca.new:
            new_keys.append(ca)  # type: ignore[arg-type]  # written at apply time like a new age key
    if answers.dry_run:
        for path in to_encrypt:
            files[path] = b"# (SOPS-encrypted Secret: encrypted when written)\n"
        meanwhile(lambda: False)
    else:
        files.update(encrypt_new_secrets(files, to_encrypt, files[SOPS_CONFIG], meanwhile))
    return files, new_keys


def generate(answers: Answers) -> Result:
    prefetch = Prefetch(answers.repo, tools=not answers.dry_run, git=answers.commit and not answers.dry_run)
    try:
        return _generate(answers, prefetch)
    finally:
        prefetch.wait()  # never leave a version check or the commit worker running behind the caller's back


def _generate(answers: Answers, prefetch: Prefetch) -> Result:
    fleet, cluster, files, plan, new_keys = prepare(answers, None if answers.dry_run else prefetch)
    result = Result(cluster, plan)
    if plan.conflicts:
        diffs = "".join(unified_diff(p, old, new) for p, (old, new) in plan.conflicts.items())
        paths = ", ".join(plan.conflicts)
        raise GenerateError(
            f"{len(plan.conflicts)} file(s) changed since gitops-kit generated them: {paths}; "
            f"review the diff below, then re-run with --force to overwrite them\n{diffs}".rstrip()
        )
    if answers.dry_run:
        result.diffs = [unified_diff(p, _read_bytes(answers.repo / p), c) for p, c in plan.writes().items()]
        result.diffs += [unified_diff(p, _read_bytes(answers.repo / p), None) for p in plan.delete]
        return result
    if not plan.changes:
        return result
    if _is_new_repository(answers.repo):
        _create_repository(answers, cluster, plan, new_keys, result, prefetch)
        return result
    _validate_in_scratch(answers.repo, plan)
    result.new_keys = [path for path in (_write_key(r) for r in new_keys) if path is not None]
    new_repo = not answers.repo.exists()
    originals = _write_all(answers.repo, plan)
    if answers.commit:
        try:
            result.committed = prefetch.commit(answers.repo, [*plan.writes(), *plan.delete], f"gitops-kit: new cluster {cluster.name}")
        except GenerateError as err:
            # a failure leaves the repository as it was: the files go back too, not only the index
            if new_repo:
                shutil.rmtree(answers.repo, ignore_errors=True)  # only what this run created is in it
            else:
                _restore(answers.repo, originals, list(originals))
            raise GenerateError(f"{err}; the generated files were taken back out, the repository is as it was") from None
    return result


def _write_key(item: object) -> Path | None:
    if isinstance(item, mesh_ca.MeshCA):
        return item.write()
    return write_new_key(item)  # type: ignore[arg-type]


def _write_all(repo: Path, plan: Plan) -> dict[str, bytes | None]:
    """Write and delete the planned files; on an OS error put back what was there and stop.

    Returns what each touched path held before, so a later failure (git) can undo the writes too."""
    originals = {path: _read_bytes(repo / path) for path in [*plan.writes(), *plan.delete]}
    done: list[str] = []
    new_repo = not repo.exists()
    try:
        repo.mkdir(parents=True, exist_ok=True)  # the inside-check needs the repository itself to exist
        for path, content in plan.writes().items():
            # never through a symlinked folder that leads out of the repository
            atomic_write_bytes(repo / path, content, inside=repo)
            done.append(path)
        for path in plan.delete:
            (repo / path).unlink()
            done.append(path)
    except OSError as err:  # fileio.WriteError (a symlink out of the repository) included
        _restore(repo, originals, done)
        if new_repo:
            shutil.rmtree(repo, ignore_errors=True)
        raise GenerateError(f"writing {repo} failed ({err}); the files written so far were restored") from None
    return originals


def _restore(repo: Path, originals: dict[str, bytes | None], done: list[str]) -> None:
    created_dirs: set[Path] = set()
    for path in reversed(done):
        original = originals[path]
        if original is None:
            (repo / path).unlink(missing_ok=True)
            created_dirs.update(p for p in (repo / path).parents if p != repo and repo in p.parents)
        else:
            atomic_write_bytes(repo / path, original)
    # folders that only held generated files go too, deepest first
    for folder in sorted(created_dirs, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty: it holds someone's files


def _validate_in_scratch(repo: Path, plan: Plan) -> None:
    """Run the validator over the repository as it will be; any finding stops generation before writing."""
    with private_temp_dir("gitops-kit-validate-") as temp:
        scratch = Path(temp) / "repo"
        if repo.is_dir():
            shutil.copytree(repo, scratch, ignore=shutil.ignore_patterns(".git"), symlinks=True)
        else:
            scratch.mkdir()
        _write_tree(scratch, plan)
        _check(scratch)


def _write_tree(scratch: Path, plan: Plan) -> None:
    for path, content in plan.writes().items():
        target = scratch / path
        check_inside(target, scratch)  # a copied repository keeps its symlinks: never write through one out of it
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for path in plan.delete:
        (scratch / path).unlink(missing_ok=True)


def _check(scratch: Path) -> None:
    from ..engine import validate

    report = validate([scratch])
    findings = list(report.findings)
    if findings:
        lines = [f"  {f.file}:{f.line}: {f.rule_id}: {f.message}" for f in findings[:10]]
        more = f"\n  … and {len(findings) - 10} more" if len(findings) > 10 else ""
        raise GenerateError(
            f"the generated repository does not validate ({len(findings)} finding(s)); nothing was written "
            "(please report this as a gitops-kit bug):\n" + "\n".join(lines) + more
        )


def _is_new_repository(repo: Path) -> bool:
    return not os.path.lexists(repo) and repo.parent.is_dir()


def _create_repository(answers: Answers, cluster: Cluster, plan: Plan, new_keys: list, result: Result, prefetch: Prefetch) -> None:
    """A repository that does not exist yet is built in a sibling folder, validated and committed there,
    then renamed into place.

    Nothing appears at the repository's path before the validation passed and the commit exists, and
    the validated folder is the one that becomes the repository (no second write of every file). git and
    the flush of the files to disk run while the validator waits on kubectl: they overlap instead of
    following it. A failure anywhere removes the sibling folder, so the parent is left as it was."""
    from concurrent.futures import ThreadPoolExecutor

    repo = answers.repo
    staging = _sibling_folder(repo)
    try:
        try:
            _write_tree(staging, plan)
        except OSError as err:
            raise GenerateError(f"writing {repo} failed ({err.strerror or err}); nothing was written") from None
        paths = list(plan.writes())
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gitops-kit-new-repo") as pool:
            synced = pool.submit(_sync_files, staging, paths)
            if answers.commit:
                committed = pool.submit(prefetch.commit, staging, paths, f"gitops-kit: new cluster {cluster.name}")
            _check(staging)  # on a finding the pool still waits for git before the folder is removed
        try:
            synced.result()
        except OSError as err:
            raise GenerateError(f"writing {repo} failed ({err.strerror or err}); nothing was written") from None
        if answers.commit:
            from .gitcommit import CommitError

            try:
                result.committed = committed.result()
            except CommitError as err:
                raise GenerateError(f"git commit in {repo} failed: {err.detail}; nothing was written") from None
        result.new_keys = [path for path in (_write_key(r) for r in new_keys) if path is not None]
        try:
            os.rename(staging, repo)  # a sibling: same file system, so one atomic step
        except OSError as err:
            raise GenerateError(f"writing {repo} failed ({err.strerror or err}); nothing was written") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _sibling_folder(repo: Path) -> Path:
    # os.mkdir, not mkdtemp: the folder becomes the repository, so it gets the usual mode (0777 minus the umask)
    for _ in range(100):
        candidate = repo.parent / f".{repo.name}.gitops-kit-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as err:
            raise GenerateError(f"writing {repo} failed ({err.strerror or err}); nothing was written") from None
    raise GenerateError(f"writing {repo} failed (no free temporary name beside it); nothing was written")


def _sync_files(root: Path, paths: list[str]) -> None:
    """fsync each file, as fileio.atomic_write_bytes does for files written in place."""
    for path in paths:
        fd = os.open(root / path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError as err:
        raise GenerateError(f"{path}: cannot read: {err}") from None


def _read_text(path: Path) -> str | None:
    data = _read_bytes(path)
    if data is None:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GenerateError(f"{path}: not UTF-8 text") from None
