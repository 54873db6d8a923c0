"""`new cluster` end to end: answers → fleet → render → validate in a scratch copy → plan → write → commit."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import CONFIG_NAME
from ..errors import ToolError
from ..fileio import atomic_write_bytes, check_inside, private_temp_dir
from .blueprints import check_gpu_model, check_requirements, load_blueprints
from .config_edit import read_fleet, update_config
from .fleet import DEFAULT_POOL, Cluster, Fleet, cluster_for
from .names import GenerateError, check_addons, check_cluster_name, check_kubernetes_version
from .plan import MANIFEST_PATH, Plan, make_plan, parse_manifest, render_manifest, unified_diff
from . import mesh_ca
from .prefetch import Prefetch
from .render import render_fleet, render_secrets, template_kinds
from .secrets import (
    SOPS_CONFIG, Encryption, Recipient, choose_recipient, encrypt_new_secrets, is_secret_path, secret_cluster, sops_config_with_rule,
    write_new_key,
)

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


def prepare(
    answers: Answers, prefetch: Prefetch | None = None, staging: _Staging | None = None
) -> tuple[Fleet, Cluster, dict[str, bytes], Plan, list[Recipient]]:
    """Everything up to the plan; reads the repository, writes nothing there (new age keys are returned,
    not written).

    `prefetch`, when validation follows, gets to load what the validator needs while sops runs.
    `staging`: the folder a new repository is rendered into (see `_Staging`)."""
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
    if prefetch is not None:  # a child renders while this process makes the Secrets
        import jinja2  # noqa: F401 - before the fork: cookiecutter and `render_secrets` both need it, imported once

        prefetch.start_render(fleet, staging.folder if staging is not None else None)
    ahead = None if answers.dry_run else _encrypt_ahead(repo, fleet, cluster, answers)
    try:
        return _prepare_rendered(answers, fleet, cluster, kubernetes, config_text, prefetch, ahead, staging)
    finally:
        if ahead is not None and ahead.encryption is not None:
            ahead.encryption.cancel()  # unused (a render that differs, an error): stopped, its directory gone


def _prepare_rendered(
    answers: Answers, fleet: Fleet, cluster: Cluster, kubernetes: str, config_text: str | None, prefetch: Prefetch | None,
    ahead: _Ahead | None, staging: _Staging | None,
) -> tuple[Fleet, Cluster, dict[str, bytes], Plan, list[Recipient]]:
    repo = answers.repo

    def clusters_rendered(partial: dict[str, bytes]) -> None:
        """The clusters' overlays are complete in `staging`: their Secrets become ciphertext there and their
        builds start, for the validation to come, while cookiecutter renders the rest."""
        assert staging is not None
        staging.written.update(partial)
        final = _final_secrets(ahead, partial) if ahead is not None else {}
        for path in [p for p in partial if is_secret_path(p)]:
            # a build never reads a rendered placeholder: a Secret is in the folder once it is ciphertext
            if path in final:
                staging.write(path, final[path])
            else:
                staging.remove(path)
        if prefetch is not None:
            prefetch.render_ahead(staging.folder, repo)

    config = update_config(config_text, fleet, kubernetes).encode("utf-8")
    if prefetch is not None:  # while the child renders: what the commit and the validation will need
        if answers.commit:
            prefetch.prepare_commit()  # first: an import cannot stop half-way, the warm-up can
        prefetch.warm_validator(repo, {CONFIG_NAME: config}, frozenset(), prefetch.rendering, kinds=template_kinds(fleet))
    try:
        files = prefetch.rendered(clusters_rendered if staging is not None else None) if prefetch is not None else None
        if files is None:  # rendered here: no child could be forked
            files = render_fleet(fleet) if staging is None else render_fleet(fleet, into=staging.folder, clusters_rendered=clusters_rendered)
    except OSError as err:
        if staging is None:
            raise
        # the staging folder is on the repository's file system: disk full, say
        raise GenerateError(f"writing {repo} failed ({err.strerror or err}); nothing was written") from None
    if staging is not None:
        staging.written.update((p, c) for p, c in files.items() if p not in staging.written and not is_secret_path(p))
    manifest = parse_manifest(_read_text(repo / MANIFEST_PATH))
    create_only = frozenset(
        p for p in files if p.rsplit("/", 1)[-1] in BOOTSTRAP_PLACEHOLDERS or is_secret_path(p)
    )

    def meanwhile(sops_running: Callable[[], bool]) -> None:
        """What needs no ciphertext, done while sops encrypts (after `.sops.yaml` has its rules)."""
        files[CONFIG_NAME] = config
        # create-only files belong to Flux or to the user once written: not recorded, so the manifest stays
        # deterministic (ciphertext differs on every encryption) and such files are never deleted
        files[MANIFEST_PATH] = render_manifest({p: c for p, c in files.items() if p != CONFIG_NAME and p not in create_only})
        if prefetch is not None:
            prefetch.warm_validator(repo, files, create_only, sops_running)

    files, new_keys = _secure(repo, fleet, cluster, answers, files, meanwhile, ahead)
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


@dataclass
class _Secrets:
    """What happens to the generated Secrets: decided from their paths and the repository, before encrypting."""

    paths: frozenset[str]
    kept: dict[str, bytes]  # already in the repository: left as they are (their ciphertext is the user's)
    sops_config: bytes
    new_keys: list[Recipient]
    to_encrypt: list[str]
    ca: mesh_ca.MeshCA | None = field(repr=False)

    def plaintexts(self, files: dict[str, bytes]) -> dict[str, bytes]:
        """What sops is given for each new Secret: the rendered file, with the fleet's mesh CA filled in."""
        return {
            p: self.ca.fill(files[p]) if self.ca is not None and p.endswith(mesh_ca.CA_SECRET_NAME) else files[p]
            for p in self.to_encrypt
        }


def _decide_secrets(repo: Path, fleet: Fleet, cluster: Cluster, answers: Answers, secret_paths: list[str]) -> _Secrets:
    """Recipients, `.sops.yaml` rules, the mesh CA and which Secrets are new (the others are kept)."""
    sops_text = _read_text(repo / SOPS_CONFIG)
    new_keys: list[Recipient] = []
    kept: dict[str, bytes] = {}
    missing: dict[str, list[str]] = {}
    for path in secret_paths:
        existing = _read_bytes(repo / path)
        if existing is not None:
            kept[path] = existing
        else:
            missing.setdefault(secret_cluster(path), []).append(path)
    # the target cluster always gets its rule, so later secrets (gitops-kit secrets …) find a recipient
    needs_rule = [c.name for c in fleet.clusters if c.name in missing or c.name == cluster.name]
    for name in needs_rule:
        recipient = choose_recipient(repo, name, answers.age_recipient if name == cluster.name else None, sops_text, fleet.flavor)
        if recipient.identity is not None:
            new_keys.append(recipient)
        sops_text = sops_config_with_rule(sops_text, name, recipient.recipient, fleet.flavor).decode("utf-8")
    assert sops_text is not None  # the target cluster's rule was just added
    to_encrypt = [p for paths in missing.values() for p in paths]
    needs_ca = [p for p in to_encrypt if p.endswith(mesh_ca.CA_SECRET_NAME)]
    ca = None
    if needs_ca and not answers.dry_run:
        members = sorted(secret_cluster(p) for p in secret_paths if p.endswith(mesh_ca.CA_SECRET_NAME) and p not in needs_ca)
        ca = mesh_ca.fleet_ca(repo, members)
        if ca.new:
            new_keys.append(ca)  # type: ignore[arg-type]  # written at apply time like a new age key
    return _Secrets(frozenset(secret_paths), kept, sops_text.encode("utf-8"), new_keys, to_encrypt, ca)


@dataclass
class _Ahead:
    """The Secrets rendered and handed to sops before cookiecutter renders the rest (see `_encrypt_ahead`)."""

    secrets: _Secrets
    plaintexts: dict[str, bytes] = field(repr=False)  # the Mesh CA's key among them: never in a traceback or log
    encryption: Encryption | None = None


def _encrypt_ahead(repo: Path, fleet: Fleet, cluster: Cluster, answers: Answers) -> _Ahead | None:
    """Start sops on the new Secrets now, rendered by `render_secrets`, so it works on the other core while
    cookiecutter renders the repository (the render's first ~0.1 s is importing cookiecutter). `_secure`
    uses the ciphertext only when `render_fleet` rendered exactly these plaintexts; else it encrypts again."""
    rendered = render_secrets(fleet)
    if rendered is None:
        return None
    secrets = _decide_secrets(repo, fleet, cluster, answers, list(rendered))
    plaintexts = secrets.plaintexts(rendered)
    return _Ahead(secrets, plaintexts, Encryption(plaintexts, secrets.sops_config) if plaintexts else None)


def _final_secrets(ahead: _Ahead, rendered: dict[str, bytes]) -> dict[str, bytes]:
    """The Secrets as they will be written, as far as they are known: the ones kept from the repository,
    and the ciphertext made ahead when `rendered` holds exactly the plaintexts it was made from."""
    kept = {p: c for p, c in ahead.secrets.kept.items() if p in rendered}
    if ahead.encryption is None or not all(p in rendered for p in ahead.plaintexts):
        return kept
    if ahead.secrets.plaintexts(rendered) != ahead.plaintexts:
        return kept
    try:
        return {**kept, **ahead.encryption.finish()}
    except ToolError:
        return kept  # `_secure` asks again and reports it


def _secure(
    repo: Path, fleet: Fleet, cluster: Cluster, answers: Answers, files: dict[str, bytes],
    meanwhile: Callable[[Callable[[], bool]], None], ahead: _Ahead | None = None,
) -> tuple[dict[str, bytes], list[Recipient]]:
    """Replace every rendered Secret by its ciphertext (or the existing file) and add the `.sops.yaml` rules.

    `meanwhile` runs once `.sops.yaml` is final, while sops encrypts."""
    secret_paths = [p for p in files if is_secret_path(p)]
    if ahead is not None and ahead.secrets.paths == frozenset(secret_paths):
        secrets = ahead.secrets  # its recipients, new keys and CA: the ciphertext ahead was made for them
    else:
        secrets, ahead = _decide_secrets(repo, fleet, cluster, answers, secret_paths), None
    files.update(secrets.kept)
    files[SOPS_CONFIG] = secrets.sops_config
    if answers.dry_run:
        for path in secrets.to_encrypt:
            files[path] = b"# (SOPS-encrypted Secret: encrypted when written)\n"
        meanwhile(lambda: False)
        return files, secrets.new_keys
    plaintexts = secrets.plaintexts(files)
    started = ahead.encryption if ahead is not None and ahead.plaintexts == plaintexts else None
    files.update(encrypt_new_secrets(plaintexts, secrets.sops_config, meanwhile, started))
    return files, secrets.new_keys


def generate(answers: Answers) -> Result:
    prefetch = Prefetch(worker=not answers.dry_run)
    try:
        return _generate(answers, prefetch)
    finally:
        prefetch.wait()  # never leave a build or the worker running behind the caller's back


def _generate(answers: Answers, prefetch: Prefetch) -> Result:
    staging = _Staging(_sibling_folder(answers.repo)) if not answers.dry_run and _is_new_repository(answers.repo) else None
    try:
        return _generate_into(answers, prefetch, staging)
    finally:
        if staging is not None and staging.folder.exists():  # not renamed into place: a failure
            prefetch.wait()  # nothing keeps reading or writing the folder
            shutil.rmtree(staging.folder, ignore_errors=True)


def _generate_into(answers: Answers, prefetch: Prefetch, staging: _Staging | None) -> Result:
    fleet, cluster, files, plan, new_keys = prepare(answers, None if answers.dry_run else prefetch, staging)
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
    if staging is not None:
        _create_repository(answers, cluster, plan, new_keys, result, prefetch, staging)
        return result
    _validate_in_scratch(answers.repo, plan)
    result.new_keys = [path for path in (_write_key(r) for r in new_keys) if path is not None]
    new_repo = not answers.repo.exists()
    originals = _write_all(answers.repo, plan)
    if answers.commit:

        def take_back() -> None:
            # a failure leaves the repository as it was: the files go back too, not only the index
            if new_repo:
                shutil.rmtree(answers.repo, ignore_errors=True)  # only what this run created is in it
            else:
                _restore(answers.repo, originals, list(originals))

        try:
            result.committed = _commit_holding_signals(
                prefetch, answers.repo, [*plan.writes(), *plan.delete], f"gitops-kit: new cluster {cluster.name}", take_back
            )
        except GenerateError as err:
            raise GenerateError(f"{err}; the generated files were taken back out, the repository is as it was") from None
    return result


def _commit_holding_signals(prefetch: Prefetch, repo: Path, paths: list[str], message: str, take_back: Callable[[], None]) -> str:
    """Commit the files just written in the work tree; on a failure, `take_back` first.

    The commit runs on a thread of its own: a GitPython call that an interrupt cuts short leaves its
    watchdog timer running, and the interpreter then waits 60 s for it before exiting. Ctrl-C and
    SIGTERM are held until git has ended (Ctrl-C reaches git itself, which stops) and, if it failed, the
    files are back: the repository is never left with this run's files written but not committed."""
    from concurrent.futures import ThreadPoolExecutor

    from ..fileio import SignalsHeld

    prefetch.prepare_commit()  # on this thread (tests/reliability/test_thread_imports.py)
    with SignalsHeld(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitops-kit-commit") as pool:
        try:
            return pool.submit(prefetch.commit, repo, paths, message).result()
        except GenerateError:
            take_back()
            raise


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
    except BaseException as err:  # fileio.WriteError (a symlink out of the repository) included, and Ctrl-C
        from ..fileio import SignalsHeld

        with SignalsHeld():  # a second Ctrl-C waits until the files are back
            _restore(repo, originals, done)
            if new_repo:
                shutil.rmtree(repo, ignore_errors=True)
        if not isinstance(err, OSError):
            raise
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
        _Staging(scratch).write_plan(plan)
        _check(scratch)


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


@dataclass
class _Staging:
    """A folder a repository is written into before it is validated: a new repository's sibling folder
    (rendered into, validated and committed in, then renamed into place) or the scratch copy an existing
    one is validated in. `written` is what this run put there (path → content), so each file is written
    once.

    cookiecutter renders straight into a new repository's folder (the add-ons' Secrets as rendered
    placeholders, replaced by their ciphertext before anything reads them); nothing appears at the
    repository's path before validation and commit succeeded, and a failure removes the folder."""

    folder: Path
    written: dict[str, bytes] = field(default_factory=dict)

    def write(self, path: str, content: bytes) -> None:
        target = self.folder / path
        check_inside(target, self.folder)  # a copied repository keeps its symlinks: never write through one out of it
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        self.written[path] = content

    def remove(self, path: str) -> None:
        (self.folder / path).unlink(missing_ok=True)
        self.written.pop(path, None)

    def write_plan(self, plan: Plan) -> None:
        """The planned files not in the folder yet (or not as planned); a file is never rewritten in place
        with the same content (a build started ahead may be reading it)."""
        for path, content in plan.writes().items():
            if self.written.get(path) != content:
                self.write(path, content)
        for path in plan.delete:
            self.remove(path)


def _create_repository(
    answers: Answers, cluster: Cluster, plan: Plan, new_keys: list, result: Result, prefetch: Prefetch, staging: _Staging
) -> None:
    """Validate and commit the new repository in its staging folder, then rename it into place.

    git and the flush of the files to disk run while the validator waits on kubectl: they overlap instead of
    following it. The caller removes the folder on a failure, so the parent is left as it was."""
    from concurrent.futures import ThreadPoolExecutor

    repo = answers.repo
    try:
        staging.write_plan(plan)
    except OSError as err:
        raise GenerateError(f"writing {repo} failed ({err.strerror or err}); nothing was written") from None
    paths = list(plan.writes())
    if answers.commit:
        prefetch.prepare_commit()  # on this thread: the commit's thread must find GitPython imported
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gitops-kit-new-repo") as pool:
        synced = pool.submit(_sync_files, staging.folder, paths)
        if answers.commit:
            committed = pool.submit(prefetch.commit, staging.folder, paths, f"gitops-kit: new cluster {cluster.name}")
        # the builds started ahead are still running: the validator checks the files meanwhile, then takes them
        _check(staging.folder)  # on a finding the pool still waits for git before the folder is removed
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
        os.rename(staging.folder, repo)  # a sibling: same file system, so one atomic step
    except OSError as err:
        raise GenerateError(f"writing {repo} failed ({err.strerror or err}); nothing was written") from None


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
