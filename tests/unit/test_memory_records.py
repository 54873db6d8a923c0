"""Repository rules keep small records until the end of a run (the memory bar of issue 8: 60,000
documents within 1.3x the peak of 6,000), and those records cross from worker processes to the
parent (pickled) without changing a finding."""

from __future__ import annotations

import sys
from pathlib import Path

from gitops_kit import validate
from gitops_kit.config import load_config
from gitops_kit.discover import discover
from gitops_kit.engine import Engine, RuleSet, by_directory, load_serially
from gitops_kit.rulebase import Context
from gitops_kit.schemas import service_from_config

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import corpus  # noqa: E402

REPOSITORY_RULES = ("flux-decryption", "sops-rule-coverage", "ksops-decryption", "gitlab-runner-token-secret", "sops-mac")


def _size(records: list) -> int:
    """Bytes of every object the records reach (records, DocRefs, strings, shared tuples), each once."""
    seen: set[int] = set()
    stack: list = [records]
    total = 0
    while stack:
        obj = stack.pop()
        if obj is None or isinstance(obj, (bool, type)) or id(obj) in seen:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, (tuple, list, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj)
            stack.extend(obj.values())
        else:
            for cls in type(obj).__mro__:
                for name in getattr(cls, "__slots__", ()):
                    if hasattr(obj, name):
                        stack.append(getattr(obj, name))
    return total


def test_records_of_the_benchmark_corpus_stay_small(tmp_path) -> None:
    """The benchmark's flat corpus: every encrypted Secret and Flux Kustomization is recorded by two to
    four rules. Before records shared the document's name and their facts (and DocRefs their root):
    ≈ 150 bytes per document; now ≈ 97."""
    documents = corpus.write_flat(tmp_path, 3000, seed=1)
    config = load_config(str(tmp_path))
    context = Context(
        root=str(tmp_path), targets=dict(config.targets), services={"schemas": service_from_config(config), "fleet": {}}
    )
    engine = Engine(config, RuleSet.build(config), context)
    load_serially(engine, by_directory(discover([tmp_path], config).files))
    counts = {rule_id: sum(map(len, engine.records.get(rule_id, {}).values())) for rule_id in REPOSITORY_RULES}
    secrets = counts["gitlab-runner-token-secret"]
    assert counts["sops-rule-coverage"] - 1 == counts["ksops-decryption"] == secrets > 400  # + .sops.yaml
    assert counts["flux-decryption"] > counts["sops-rule-coverage"] and counts["sops-mac"] > 100
    # ksops-decryption and sops-rule-coverage keep one shared record per encrypted document
    ksops = {id(r) for bucket in engine.records["ksops-decryption"].values() for r in bucket}
    coverage = {id(r) for bucket in engine.records["sops-rule-coverage"].values() for r in bucket}
    assert len(ksops & coverage) == counts["ksops-decryption"]
    records = [record for by_scope in engine.records.values() for bucket in by_scope.values() for record in bucket]
    per_document = _size(records) / documents
    assert per_document < 110, f"{per_document:.0f} bytes of repository records per document"


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first-plain, namespace: ns-12}\ndata: {a: b}\n---\n"
PLAIN_SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: runner-token\n  namespace: ci\nstringData:\n  runner-token: x\n"
RUNNER = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gitlab-runner, namespace: ci}
spec:
  interval: 30m
  chart:
    spec: {chart: gitlab-runner, version: 0.86.x, sourceRef: {kind: HelmRepository, name: gitlab}}
  values:
    runners: {secret: runner-token}
"""
FLUX = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: team-0001, namespace: flux-system}
spec: {interval: 10m, path: ./team-0001, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: team-0002, namespace: flux-system}
spec:
  interval: 10m
  path: ./team-0002
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  decryption: {provider: sops}
"""
ARGO_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: apps, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: apps}
  source: {repoURL: https://git.example.org/fleet.git, targetRevision: HEAD, path: team-0003, plugin: {name: sops-decrypt}}
"""


def _encrypted_file(root: Path, folder: str) -> Path:
    return next(p for p in sorted((root / folder).glob("*.yaml")) if "\nsops:" in p.read_text(encoding="utf-8"))


def test_records_crossing_processes_give_the_serial_findings(tmp_path, monkeypatch) -> None:
    corpus.write_flat(tmp_path, 900, seed=3)
    (tmp_path / "team-0000" / "plain-secret.yaml").write_text(PLAIN_SECRET, encoding="utf-8")
    (tmp_path / "team-0000" / "runner.yaml").write_text(RUNNER, encoding="utf-8")
    (tmp_path / "team-0003" / "ks.yaml").write_text(FLUX, encoding="utf-8")
    encrypted = _encrypted_file(tmp_path, "team-0001")
    (tmp_path / "team-0001" / "plain-first.yaml").write_text(CONFIGMAP + encrypted.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "team-0002" / "other.yml").write_text(encrypted.read_text(encoding="utf-8"), encoding="utf-8")  # no creation rule
    (tmp_path / "team-0004" / "app.yaml").write_text(ARGO_APP, encoding="utf-8")  # Argo CD: unread encrypted files

    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = validate([tmp_path])
    monkeypatch.setenv("GITOPS_KIT_JOBS", "3")
    parallel = validate([tmp_path])
    assert [f.to_dict() for f in parallel.findings] == [f.to_dict() for f in serial.findings]
    by_rule: dict[str, list] = {}
    for finding in serial.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    flux = by_rule["flux-decryption"]
    assert [(f.file, f.object, f.severity.label) for f in flux] == [
        ("team-0003/ks.yaml", "Kustomization/flux-system/team-0001", "error"),
        ("team-0003/ks.yaml", "Kustomization/flux-system/team-0002", "warning"),
    ]
    gitlab = by_rule["gitlab-runner-token-secret"]
    assert [(f.file, f.object) for f in gitlab] == [("team-0000/plain-secret.yaml", "Secret/ci/runner-token")]
    coverage = {(f.file, f.message) for f in by_rule["sops-rule-coverage"]}
    plain_first = "the first document of this file has no sops block"
    assert any(file == "team-0001/plain-first.yaml" and message.startswith(plain_first) for file, message in coverage)
    assert any(file == "team-0002/other.yml" and message.startswith("no creation rule") for file, message in coverage)
    ksops = by_rule["ksops-decryption"]
    unread = {f.file for f in ksops}
    assert encrypted.relative_to(tmp_path).as_posix() in unread and not any(f.startswith("team-0003/") for f in unread)
    # one finding per file, at its last encrypted document, named after it
    assert len(unread) == len(ksops)
    assert all(f.object.startswith("Secret/") and f.object.endswith("-2") for f in ksops)


SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: apps}
stringData: {a: "ENC[AES256_GCM,data:eHg=,iv:eXk=,tag:eno=,type:str]"}
sops: {mac: "ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]", version: 3.10.2}
"""
KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec: {{interval: 10m, path: {path}, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}{decryption}}}
"""


def test_flux_decryption_indexes_only_the_paths_that_hold_encrypted_files(tmp_path) -> None:
    """The most specific path owns a file, the first Kustomization of a path wins, and the thousands of
    Kustomizations whose path holds no encrypted file are left out of the index without changing that."""
    ok = ", decryption: {provider: sops, secretRef: {name: sops-age}}"
    kustomizations = [
        ("root", "./", ok),
        ("prod", "./clusters/prod", ""),
        ("apps", "./clusters/prod/apps", ", decryption: {provider: sops}"),
        ("apps-again", "clusters/prod/apps/", ""),  # same path, normalised: the first one owns it
        *((f"elsewhere-{i}", f"./nowhere/{i}", "") for i in range(300)),
    ]
    (tmp_path / "flux").mkdir()
    (tmp_path / "flux" / "ks.yaml").write_text(
        "---\n".join(KUSTOMIZATION.format(name=name, path=path, decryption=extra) for name, path, extra in kustomizations)
        + "---\n# gitops-kit: ignore flux-decryption\n"
        + KUSTOMIZATION.format(name="quiet", path="./quiet", decryption=""),
        encoding="utf-8",
    )
    encrypted = ("clusters/prod/db.yaml", "clusters/prod/apps/x.yaml", "clusters/prod/apps/deeper/y.yaml", "other/z.yaml", "quiet/q.yaml")
    for file in encrypted:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text(SECRET, encoding="utf-8")
    report = validate([tmp_path], rules=["flux-decryption"])
    # each document is 4 lines and a `---`: prod starts at line 6, apps at 11; findings point at `spec`
    assert [(f.file, f.line, f.object, f.severity.label, f.message.split(":")[0]) for f in report.findings] == [
        ("flux/ks.yaml", 9, "Kustomization/flux-system/prod", "error",
         "applies 1 SOPS-encrypted file(s) (e.g. clusters/prod/db.yaml) but has no spec.decryption.provider"),
        ("flux/ks.yaml", 14, "Kustomization/flux-system/apps", "warning",
         "decrypts 2 SOPS-encrypted file(s) but spec.decryption has no secretRef"),
    ]
    assert report.suppressed == 1  # the Kustomization of ./quiet, by its own comment
