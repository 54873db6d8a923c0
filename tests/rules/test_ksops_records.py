"""ksops-decryption's records: rulebase.Records (no `typing` at import time), tuples that pickle across processes."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from gitops_kit.model import DocRef
from gitops_kit.rules.ksops_decryption import ArgoApp, FluxDecrypts, Generator, Kustomization
from gitops_kit.secrets.ksops import Listed, listed_files

REF = DocRef("/repo/apps/secret-generator.yaml", "apps/secret-generator.yaml", 1, 3)


def test_listed_files_are_records_with_the_fields_of_the_generator():
    data = {"files": ["./db.sops.yaml", 7], "secretFrom": [{"files": ["key=./a.sops.yaml"], "envs": ["b.env"]}, "x"]}
    listed = listed_files(data)
    assert listed == [
        Listed(0, "./db.sops.yaml", ("files", 0)),
        Listed(index=0, value="./a.sops.yaml", path=("secretFrom", 0, "files", 0)),
        Listed(0, "b.env", ("secretFrom", 0, "envs", 0)),
    ]
    assert [(item.index, item.value, item.path) for item in listed] == [tuple(item) for item in listed]
    assert repr(listed[0]) == "Listed(index=0, value='./db.sops.yaml', path=('files', 0))"


@pytest.mark.parametrize(
    "record",
    [
        Kustomization("apps", REF, ((0, "cm.yaml"),), ("secret-generator.yaml",)),
        Generator("apps/secret-generator.yaml", REF, "ksops/secret-generator", None, (Listed(0, "db.sops.yaml", ("files", 0)),)),
        Generator("apps/secret-generator.yaml", REF, "ksops/g", "ksops", ()),
        FluxDecrypts(""),
        ArgoApp("apps.yaml", ("clusters/prod/addons", "")),
    ],
)
def test_records_pickle_to_equal_records_of_the_same_class(record):
    # repository records travel from parallel workers to the parent as pickles
    copy = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == record and type(copy) is type(record) and copy._fields == record._fields
    assert not hasattr(copy, "__dict__")  # __slots__ = (): a record is its tuple and nothing more


def test_record_fields_and_errors():
    generator = Generator(file="f.yaml", ref=REF, object="ksops/g", exec_path="ksops", files=())
    assert (generator.file, generator.ref, generator.object, generator.exec_path, generator.files) == tuple(generator)
    with pytest.raises(TypeError, match="missing field 'files'"):
        Generator("f.yaml", REF, "ksops/g", None)
    with pytest.raises(TypeError, match="no field 'flavor'"):
        FluxDecrypts(path="", flavor="x")


def test_loading_the_rule_and_validating_an_application_import_no_typing(tmp_path):
    app = tmp_path / "app.yaml"
    app.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  namespace: argocd\nspec:\n"
        "  project: default\n  source:\n    repoURL: https://example.com/repo.git\n    path: apps\n    targetRevision: main\n"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: a\n"
    )
    code = (
        "import sys; import gitops_kit.secrets.ksops, gitops_kit.rules.ksops_decryption; "
        "first = 'typing' in sys.modules; from gitops_kit.cli import main; "
        f"status = main(['validate', '--quiet', {str(app)!r}]); "
        "print(first, status, 'typing' in sys.modules, 'gitops_kit.rules.ksops_decryption' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "0", "False", "True"]
