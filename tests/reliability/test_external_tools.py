"""External programs: no shell, always a timeout, and every failure mode is a clear finding or exit 2.

Fake tools are small shell scripts put where gitops-kit looks (PATH or the GITOPS_KIT_<TOOL>
override); `GITOPS_KIT_TOOL_TIMEOUT` keeps the hang cases short.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import stat
import time
from pathlib import Path

import pytest

from gitops_kit import tools
from tests.conftest import FIXTURES, ROOT

PACKAGE = ROOT / "gitops_kit"
#: os functions that start another program (os.fork for parallel.py's workers runs no program)
SPAWNERS = {"system", "popen", "spawnl", "spawnlp", "spawnv", "spawnvp", "execv", "execvp", "execve", "posix_spawn", "posix_spawnp"}
#: the one module allowed to start programs, and the modules allowed to use GitPython (which starts git)
TOOLS_MODULE = "tools.py"
GIT_MODULES = {"generate/gitcommit.py", "changes.py"}
HANG = 0.5


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_only_tools_py_starts_programs_and_nothing_uses_a_shell():
    problems = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for module in names:
                    top = module.split(".")[0]
                    if top in ("subprocess", "pty", "asyncio") and name != TOOLS_MODULE and top != "asyncio" or (
                        top == "asyncio" and "subprocess" in module
                    ):
                        problems.append(f"{name}:{node.lineno}: imports {module} (run programs through tools.run)")
                    if top == "git" and name not in GIT_MODULES:
                        problems.append(f"{name}:{node.lineno}: imports GitPython outside {GIT_MODULES}")
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "os" and func.attr in SPAWNERS:
                    problems.append(f"{name}:{node.lineno}: os.{func.attr}()")
                for keyword in node.keywords:
                    if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                        problems.append(f"{name}:{node.lineno}: shell={ast.unparse(keyword.value)}")
    assert problems == []


def test_tools_run_always_has_a_timeout():
    tree = ast.parse((PACKAGE / TOOLS_MODULE).read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    popens = [c for c in calls if c.func.attr in ("Popen", "run", "call", "check_output", "check_call") and ast.unparse(c.func.value) == "subprocess"]
    assert len(popens) == 1 and {"shell": "False", "start_new_session": "True"}.items() <= {k.arg: ast.unparse(k.value) for k in popens[0].keywords}.items()
    waits = [c for c in calls if c.func.attr == "communicate"]
    assert waits and all(any(k.arg == "timeout" for k in c.keywords) for c in waits)
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    timeout = run.args.kwonlyargs[[a.arg for a in run.args.kwonlyargs].index("timeout")]
    assert timeout.annotation is not None and ast.unparse(timeout.annotation) == "float"  # never None: no "wait forever"


def _script(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    fake = _script(tmp_path / "bin", "wrapper", f"sleep 30 &\necho $! > {pid_file}\nwait\n")
    started = time.monotonic()
    with pytest.raises(tools.ToolTimeout, match=r"wrapper: no answer after 0.5s"):
        tools.run([str(fake)], timeout=HANG)
    assert time.monotonic() - started < 10
    stat_file = Path(f"/proc/{int(pid_file.read_text())}/stat")
    for _ in range(100):  # SIGKILL is asynchronous; a killed orphan may linger as a zombie (state Z)
        try:
            if stat_file.read_text().rpartition(")")[2].split()[0] == "Z":
                break
        except OSError:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the wrapper's child survived the timeout")


def test_tool_timeout_cap_from_the_environment(monkeypatch, tmp_path):
    fake = _script(tmp_path / "bin", "slow", "sleep 30\n")
    monkeypatch.setenv("GITOPS_KIT_TOOL_TIMEOUT", str(HANG))
    with pytest.raises(tools.ToolTimeout, match="GITOPS_KIT_TOOL_TIMEOUT"):
        tools.run([str(fake)], timeout=600)
    monkeypatch.setenv("GITOPS_KIT_TOOL_TIMEOUT", "soon")
    with pytest.raises(tools.ToolError, match="must be a number of seconds"):
        tools.run([str(fake)])


# -- kustomize: a broken render is a finding, a missing renderer a notification; reports stay valid
KUSTOMIZE = """case "$1" in
  version) echo v5.4.2; exit 0;;
esac
case "$*" in
  */zzslow) sleep 30;;
  */zzbroken) echo 'Error: accumulating resources: missing.yaml: no such file' >&2; exit 1;;
  *) printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: ok, namespace: n}\\n';;
esac
"""


def _overlays(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    for name in ("ok", "zzslow", "zzbroken"):
        (root / name).mkdir()
        # `namespace`: a transformer, so kustomize builds it (an overlay that only lists files is read instead)
        (root / name / "kustomization.yaml").write_text("namespace: n\nresources: [cm.yaml]\n", encoding="utf-8")
        (root / name / "cm.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: n}}\n", encoding="utf-8")
    (root / ".gitops-kit.yaml").write_text(f"render: {{timeout: {HANG}, cache: false}}\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_kustomize_hang_and_failure_are_findings_in_a_valid_report(tmp_path, cli, fmt):
    repo = _overlays(tmp_path / "repo")
    fake = _script(tmp_path / "bin", "kustomize", KUSTOMIZE)
    result = cli("validate", str(repo), "--format", fmt, env={"GITOPS_KIT_KUSTOMIZE": str(fake)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    if fmt == "json":
        found = {(f["rule"], f["file"]): f["message"] for f in payload["findings"]}
    else:
        found = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r["message"]["text"]
                 for r in payload["runs"][0]["results"]}
    assert "did not finish within 0.5s; raise render.timeout" in found[("kustomize-build", "zzslow/kustomization.yaml")]
    assert "missing.yaml: no such file" in found[("kustomize-build", "zzbroken/kustomization.yaml")]
    assert ("kustomize-build", "ok/kustomization.yaml") not in found


def test_missing_kustomize_is_a_notification_and_the_files_are_still_checked(tmp_path, cli):
    repo = _overlays(tmp_path / "repo")
    (repo / "ok" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", encoding="utf-8")
    (repo / ".gitops-kit.yaml").write_text(f"render: {{kustomize: {tmp_path / 'no-such-kustomize'}}}\n", encoding="utf-8")
    result = cli("validate", str(repo), "--format", "sarif")
    payload = json.loads(result.stdout)
    notes = [n["message"]["text"] for n in payload["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    assert any("kustomize" in n and "not rendered" in n for n in notes)
    assert result.returncode == 1 and any(r["ruleId"] == "object-identity" for r in payload["runs"][0]["results"])


# -- sops, kubeconform, git: exit 2 with one line naming the tool and what to do
def _sops_env(tmp_path: Path, body: str) -> dict[str, str]:
    return {"GITOPS_KIT_SOPS": str(_script(tmp_path / "bin", "sops", body)), "GITOPS_KIT_TOOL_TIMEOUT": str(HANG)}


SOPS_OK_VERSION = 'case "$*" in *--version*) echo "sops 3.10.2 (latest)"; exit 0;; esac\n'


@pytest.mark.parametrize(
    "case, body, expected",
    [
        ("missing", None, "sops: not found; install it with: pip install 'gitops-kit[sops]'"),
        ("too-old", 'echo "sops 3.7.3"\n', "sops: version 3.7.3 is too old; gitops-kit needs 3.10.0 or newer"),
        ("hang", SOPS_OK_VERSION + "sleep 30\n", "sops: no answer after 0.5s"),
        ("no-key", SOPS_OK_VERSION + "echo 'Error getting data key: 0 successful groups required, got 0' >&2; exit 128\n",
         "no age key can decrypt this file; pass --age-key-file or set SOPS_AGE_KEY_FILE"),
    ],
)
def test_sops_failures_exit_2_naming_sops(tmp_path, cli, case, body, expected):
    secret = FIXTURES / "sops" / "carlpett" / "terraform-provider-sops" / "basic.age0.yaml"
    env = _sops_env(tmp_path, body) if body else {"GITOPS_KIT_SOPS": str(tmp_path / "missing-sops")}
    result = cli("secrets", "decrypt", str(secret), env=env)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("gitops-kit: error: ") and expected in line


def test_a_sops_that_never_reads_a_large_input_still_times_out(tmp_path, cli):
    """The input of `secrets encrypt` can be larger than a pipe holds: it is written under the timeout too."""
    plain = tmp_path / "repo" / "big.yaml"
    plain.parent.mkdir()
    (plain.parent / ".sops.yaml").write_text("creation_rules:\n  - age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsxqrmu\n")
    plain.write_text("data:\n" + "".join(f"  key{i}: {'x' * 60}\n" for i in range(5000)))  # ~350 kB
    result = cli("secrets", "encrypt", str(plain), env=_sops_env(tmp_path, SOPS_OK_VERSION + "sleep 30\n"))
    assert result.returncode == 2 and "sops: no answer after 0.5s" in result.stderr
    assert plain.read_text().startswith("data:\n  key0:")  # left as it was


KUBECONFORM_OK = 'case "$1" in -v) echo v0.7.0; exit 0;; esac\n'


@pytest.mark.parametrize(
    "case, body, expected",
    [
        # the engine cannot run at all: exit 2
        ("missing", None, "kubeconform: not found on PATH; install kubeconform v0.6+"),
        ("too-old", "echo v0.5.0\n", "kubeconform: version 0.5.0 is too old; gitops-kit needs 0.6.0 or newer"),
        # one object could not be checked: a schema-validation finding on it, in a valid report
        ("hang", KUBECONFORM_OK + "sleep 30\n", "kubeconform: no answer after 0.5s"),
        ("crash", KUBECONFORM_OK + "echo 'panic: boom' >&2; exit 3\n", "kubeconform exited 3: panic: boom"),
        ("garbage", KUBECONFORM_OK + "echo 'not json'\n", "kubeconform: output is not JSON"),
    ],
)
def test_kubeconform_failures_name_kubeconform(tmp_path, cli, case, body, expected):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n", encoding="utf-8")
    path = str(tmp_path / "bin") + os.pathsep + os.environ["PATH"]
    if body:
        _script(tmp_path / "bin", "kubeconform", body)
    elif shutil.which("kubeconform"):
        path = str(tmp_path / "bin")  # hide a real one; the CLI itself runs as sys.executable
    result = cli("validate", str(repo), "--schema-engine", "kubeconform", "--format", "json",
                 env={"PATH": path, "GITOPS_KIT_TOOL_TIMEOUT": str(HANG)})
    assert "Traceback" not in result.stderr
    if case in ("missing", "too-old"):
        (line,) = result.stderr.strip().splitlines()
        assert result.returncode == 2 and expected in line
        # the report is still a valid JSON document, naming the error (a CI step uploading it does not choke)
        assert any(expected in note for note in json.loads(result.stdout)["notifications"])
    else:
        (finding,) = json.loads(result.stdout)["findings"]
        assert result.returncode == 1 and finding["rule"] == "schema-validation" and finding["line"] == 1
        assert expected in finding["message"]


def _git_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "GIT_CONFIG_NOSYSTEM": "1", **extra}


def test_git_failing_is_exit_2_naming_git(tmp_path, cli):
    real = shutil.which("git")
    fake = _script(tmp_path / "bin", "git", f'if [ "$1" = version ]; then exec {real} "$@"; fi\necho "fatal: simulated" >&2\nexit 128\n')
    result = cli("new", "cluster", "c1", "--repo", str(tmp_path / "fleet"), "--no-input",
                 env=_git_env(tmp_path, GIT_PYTHON_GIT_EXECUTABLE=str(fake)))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search(r"\bgit\b", result.stderr)


@pytest.mark.parametrize("command", ["rev-parse", "diff", "ls-files", "commit"])
def test_a_hanging_git_is_killed_and_named(tmp_path, cli, command):
    import time

    real = shutil.which("git")
    fake = _script(tmp_path / "bin", "git", f'if [ "$1" = {command} ]; then sleep 30; fi\nexec {real} "$@"\n')
    env = _git_env(tmp_path, GIT_PYTHON_GIT_EXECUTABLE=str(fake), GITOPS_KIT_TOOL_TIMEOUT="1",
                   GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    repo = tmp_path / "fleet"
    started = time.monotonic()
    if command == "commit":  # the generator's commit
        result = cli("new", "cluster", "c1", "--repo", str(repo), "--no-input", "--addons", "storage", env=env)
    else:  # pull-request mode
        repo.mkdir()
        (repo / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", encoding="utf-8")
        subprocess.run([real, "init", "-q", str(repo)], check=True, env={**os.environ, **env})
        subprocess.run([real, "-C", str(repo), "add", "-A"], check=True, env={**os.environ, **env})
        subprocess.run([real, "-C", str(repo), "commit", "-qm", "x"], check=True, env={**os.environ, **env})
        result = cli("validate", "--changed-since", "HEAD", str(repo), env=env)
    assert time.monotonic() - started < 25, "git was not killed"
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search(r"\bgit\b", result.stderr)


def test_git_missing_is_exit_2_naming_git(tmp_path, cli):
    result = cli("new", "cluster", "c1", "--repo", str(tmp_path / "fleet"), "--no-input",
                 env=_git_env(tmp_path, GIT_PYTHON_GIT_EXECUTABLE=str(tmp_path / "no-git")))
    assert result.returncode == 2 and "Traceback" not in result.stderr and re.search(r"\bgit\b", result.stderr)


def test_validate_never_needs_sops(tmp_path, cli):
    # SOPS files are checked offline (structure, rules, MAC via `secrets verify`): no sops, same report
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    for vector in ("basic.age0.yaml", "basic.age1.yaml"):
        (repo / vector).write_bytes((FIXTURES / "sops" / "carlpett" / "terraform-provider-sops" / vector).read_bytes())
    with_sops = cli("validate", str(repo), "--format", "sarif")
    without = cli("validate", str(repo), "--format", "sarif", env={"GITOPS_KIT_SOPS": str(tmp_path / "no-sops"), "PATH": "/nonexistent"})
    assert without.returncode == with_sops.returncode and "Traceback" not in without.stderr
    strip = lambda out: json.loads(out)["runs"][0]["results"]  # noqa: E731
    assert strip(without.stdout) == strip(with_sops.stdout)
