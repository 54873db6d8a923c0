"""Failure injection at every step of `new cluster`: the repository (work tree and .git) stays byte for byte as it was.

Steps: bad names (before anything), template rendering, validation of the result, writing, git commit; plus
user edits, which are never overwritten without --force. Each test starts from a real one-cluster fleet with a
real commit, so a half-applied run would show up in the tree hash.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
from pathlib import Path

import pytest

from gitops_kit.cli import main
from gitops_kit.generate import blueprints as blueprints_module
from gitops_kit.generate import generator, render
from ..conftest import CANARY

FLAVORS = ("flux", "argocd")


def tree_state(root: Path) -> dict[str, str]:
    """Every file (hash) and folder below root, .git included."""
    state: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        state[relative] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return state


def new(repo: Path, name: str, flavor: str, *extra: str) -> int:
    return main(["new", "cluster", name, "--repo", str(repo), "--flavor", flavor, "--addons", "mesh,runners", "--no-input", *extra])


@pytest.fixture(scope="module")
def base_fleets(tmp_path_factory) -> dict[str, Path]:
    """A committed one-cluster fleet per flavour (mesh + runners: a Helm chart, a CA and a runner token secret)."""
    root = tmp_path_factory.mktemp("fleets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITOPS_KIT_KEY_DIR", str(root / "keys"))
        for flavor in FLAVORS:
            assert new(root / flavor, "c-001", flavor) == 0
    return {flavor: root / flavor for flavor in FLAVORS}


@pytest.fixture(params=FLAVORS)
def fleet(request, base_fleets, tmp_path, monkeypatch) -> Path:
    flavor = request.param
    shutil.copytree(base_fleets[flavor].parent / "keys", tmp_path / "keys")
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / flavor  # same folder name: the key directory is per repository name
    shutil.copytree(base_fleets[flavor], repo, symlinks=True)
    return repo


def flavor_of(repo: Path) -> str:
    return repo.name


@pytest.mark.parametrize(
    "name",
    ["../escape", "a/b", "a\x00b", "$(touch pwned)", "c1;rm", "`id`", "{{cookiecutter.x}}", "{% raw %}", "c 1", "c1-", "Cluster"],
)
def test_bad_names_are_rejected_before_any_write(base_fleets, name, capsys, monkeypatch):
    # names are checked before anything flavour-specific: one flavour is enough
    fleet = base_fleets["argocd"]
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(fleet.parent / "keys"))
    before = tree_state(fleet)
    keys_before = tree_state(fleet.parent / "keys")
    assert new(fleet, name, "argocd") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cluster name" in err and "Traceback" not in err
    assert tree_state(fleet) == before
    assert tree_state(fleet.parent / "keys") == keys_before
    assert not (fleet.parent / "pwned").exists() and not (fleet.parent / "escape").exists()


def test_template_syntax_in_settings_is_rejected(fleet, capsys):
    before = tree_state(fleet)
    assert new(fleet, "c-002", flavor_of(fleet), "--repo-url", "https://example.org/{{ cookiecutter }}") == 2
    assert "not a plain URL" in capsys.readouterr().err
    assert tree_state(fleet) == before


def test_template_error_changes_nothing(fleet, tmp_path, monkeypatch, capsys):
    templates = tmp_path / "cookiecutters"
    shutil.copytree(render.cookiecutters_path(), templates)
    flavor = flavor_of(fleet)
    broken = next((templates / f"{flavor}-cluster").rglob("kustomization.yaml"))
    broken.write_text(broken.read_text() + "{% if %}\n")
    monkeypatch.setattr(render, "cookiecutters_path", lambda *parts: templates.joinpath(*parts))
    before = tree_state(fleet)
    assert new(fleet, "c-002", flavor) == 2
    err = capsys.readouterr().err
    assert "rendering template" in err and "Traceback" not in err
    assert tree_state(fleet) == before


def _plant_plaintext_secret(tmp_path, monkeypatch) -> None:
    """A real blueprint defect only the validator catches: a plaintext Secret among the runners' examples."""
    copied = tmp_path / "blueprints"
    shutil.copytree(blueprints_module.blueprints_path(), copied)
    pods = copied / "runners" / "configs" / "build-pods.yaml"
    secret = f"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\n  namespace: build-examples\nstringData:\n  token: {CANARY}\n"
    pods.write_text(pods.read_text() + secret)
    monkeypatch.setattr(blueprints_module, "blueprints_path", lambda *parts: copied.joinpath(*parts))
    blueprints_module.load_blueprints.cache_clear()


def test_validation_failure_changes_nothing(fleet, tmp_path, monkeypatch, capsys):
    _plant_plaintext_secret(tmp_path, monkeypatch)
    try:
        before = tree_state(fleet)
        assert new(fleet, "c-002", flavor_of(fleet)) == 2
    finally:
        blueprints_module.load_blueprints.cache_clear()
    err = capsys.readouterr().err
    assert "does not validate" in err and "secret-not-encrypted" in err and CANARY not in err
    assert tree_state(fleet) == before


@pytest.mark.parametrize("fail_at", [1, 7])
def test_failing_write_restores_everything(fleet, monkeypatch, capsys, fail_at):
    real_write = generator.atomic_write_bytes
    calls = {"n": 0}

    def write(path, content, **options):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, content, **options)

    monkeypatch.setattr(generator, "atomic_write_bytes", write)
    before = tree_state(fleet)
    assert new(fleet, "c-002", flavor_of(fleet)) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "restored" in err
    assert tree_state(fleet) == before


def test_git_failure_takes_the_files_back_out(fleet, capsys):
    lock = fleet / ".git" / "index.lock"
    lock.write_bytes(b"")  # another git process holds the index
    before = tree_state(fleet)
    assert new(fleet, "c-002", flavor_of(fleet)) == 2
    err = capsys.readouterr().err
    assert "git commit" in err and "as it was" in err and "Traceback" not in err
    assert tree_state(fleet) == before


def test_symlinked_folder_out_of_the_repository_is_never_written_through(fleet, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = "clusters/c-002" if flavor_of(fleet) == "argocd" else "apps/c-002"
    (fleet / folder).parent.mkdir(parents=True, exist_ok=True)
    (fleet / folder).symlink_to(outside, target_is_directory=True)
    before = tree_state(fleet)
    assert new(fleet, "c-002", flavor_of(fleet)) == 2
    assert "outside" in capsys.readouterr().err
    assert list(outside.iterdir()) == [] and tree_state(fleet) == before


def test_user_edit_survives_until_force(fleet, capsys):
    flavor = flavor_of(fleet)
    edited = fleet / ("clusters/c-001/values/cilium.yaml" if flavor == "argocd" else "infrastructure/controllers/c-001/mesh-values.yaml")
    edited.write_text(edited.read_text() + "# mine\n")
    before = tree_state(fleet)
    assert new(fleet, "c-002", flavor) == 2  # c-001's peer list would change: the edit is in the way
    err = capsys.readouterr().err
    assert "--force" in err and "-# mine" in err
    assert tree_state(fleet) == before
    assert new(fleet, "c-002", flavor, "--force") == 0
    assert "# mine" not in edited.read_text() and "c-002" in edited.read_text()


# A repository that does not exist yet is built in a hidden sibling folder and renamed into place:
# on any failure neither the repository nor that folder may be left in the parent.


@pytest.fixture
def empty_parent(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    parent = tmp_path / "parent"
    parent.mkdir()
    return parent


@pytest.mark.parametrize("flavor", FLAVORS)
def test_new_repository_is_renamed_into_place_committed_and_clean(empty_parent, flavor):
    import git
    import os

    repo = empty_parent / "fleet"
    assert new(repo, "c-001", flavor) == 0
    assert sorted(os.listdir(empty_parent)) == ["fleet"]
    umask = os.umask(0)
    os.umask(umask)
    assert repo.stat().st_mode & 0o777 == 0o777 & ~umask  # a usual folder, not a 0700 temporary one
    committed = git.Repo(repo)
    assert not committed.is_dirty(untracked_files=True)
    assert committed.head.commit.message.strip() == "gitops-kit: new cluster c-001"
    tracked = {item.path for item in committed.head.commit.tree.traverse() if item.type == "blob"}
    on_disk = {p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file() and ".git" not in p.relative_to(repo).parts}
    assert tracked == on_disk


def test_new_repository_validation_failure_leaves_nothing(empty_parent, tmp_path, monkeypatch, capsys):
    _plant_plaintext_secret(tmp_path, monkeypatch)
    try:
        assert new(empty_parent / "fleet", "c-001", "flux") == 2
    finally:
        blueprints_module.load_blueprints.cache_clear()
    err = capsys.readouterr().err
    assert "does not validate" in err and "secret-not-encrypted" in err and CANARY not in err and "Traceback" not in err
    assert list(empty_parent.iterdir()) == []
    assert not (tmp_path / "keys").exists()  # new keys are written only once everything else worked


def test_new_repository_git_failure_leaves_nothing(empty_parent, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "missing" / "index"))  # git add cannot write its index
    assert new(empty_parent / "fleet", "c-001", "flux") == 2
    err = capsys.readouterr().err
    assert f"git commit in {empty_parent / 'fleet'} failed" in err and "nothing was written" in err
    assert ".gitops-kit-" not in err and "Traceback" not in err and err.count("\n") == 1
    assert list(empty_parent.iterdir()) == []
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("step", ["render", "secret", "sync", "rename"])
def test_new_repository_write_failure_leaves_nothing(empty_parent, monkeypatch, capsys, step):
    import os

    if step == "render":  # cookiecutter renders straight into the new repository's folder
        real_cookiecutter = render._cookiecutter

        def cookiecutter(template, root, *args, **kwargs):
            if template.name == "fleet-common":
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_cookiecutter(template, root, *args, **kwargs)

        monkeypatch.setattr(render, "_cookiecutter", cookiecutter)
    elif step == "secret":  # a Secret's ciphertext put in place while the rest renders
        real_write = generator._Staging.write

        def write(self, path, content):
            if path.endswith(".sops.yaml"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(self, path, content)

        monkeypatch.setattr(generator._Staging, "write", write)
    elif step == "sync":
        def fail(root, paths):
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(generator, "_sync_files", fail)
    else:
        real_rename = os.rename

        def rename(source, target, *args, **kwargs):
            if Path(target) == empty_parent / "fleet":
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_rename(source, target, *args, **kwargs)

        monkeypatch.setattr(os, "rename", rename)
    assert new(empty_parent / "fleet", "c-001", "flux") == 2
    err = capsys.readouterr().err
    assert "writing" in err and "nothing was written" in err and "Traceback" not in err
    assert list(empty_parent.iterdir()) == []
