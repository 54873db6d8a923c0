"""Benchmark gitops-kit against its baselines and check the speed bars, in one run.

    .venv/bin/python bench/run.py                      # 6,000 and 60,000 documents, 5 repeats, 50-overlay fleet
    .venv/bin/python bench/run.py --repeat 3 --clusters 50 --keep /tmp/bench

Every measurement is a separate process (wall time and that process's own peak RSS via
`os.wait4`), repeated and reduced to its median, so start-up costs count exactly as a user
or a pre-commit hook pays them. Rows:

* `python -c pass`: the interpreter's own start-up, the floor for the single-file bars;
* `gitops-kit validate one-file.yaml` (warm and empty schema cache) and the `gitops-kit-lint`
  pre-commit hook's command on the same manifest;
* `yaml_rs load`: walk the tree and `yaml_rs.loads` every file, nothing else (the fast-loader floor);
* `PyYAML CSafeLoader`: the same with PyYAML's C loader, when PyYAML is installed (reference only);
* `gitops-kit loader`: discovery + gitops-kit's loader (splitting, line numbers, suppressions);
* `gitops-kit validate`: the CLI end to end with every default rule enabled;
* `validate fleet, N overlays, empty cache` / `cached`: a base (with a HelmRelease and a repository
  CRD + CR) and N overlays validated twice with one fresh GITOPS_KIT_CACHE_DIR per repeat;
* `… full` / `… --changed-since`: the same fleet as a git repository, one cluster changed;
* `yaml_rs load (in-process)` / `schema validation alone`: one child loads the small corpus, then
  validates every object with `gitops_kit.schemas.SchemaService` (validators compiled before timing);
* `new cluster` with every add-on, and cookiecutter rendering the same templates alone.

Bars (issues 2, 3, 7 and 8): validate ≥ 50 % of the yaml_rs load's documents/second at 6,000
documents; one-file validate and the lint hook ≤ 3× `python -c pass`; validate's peak RSS at 60,000
documents ≤ 1.3× at 6,000; the fleet's first run ≥ 5× its cached second run; schema validation alone
≥ 50 % of the in-process yaml_rs load's documents/second; `--changed-since` with one cluster changed
≤ 10 % of a full run; `new cluster` ≤ 1.5× cookiecutter alone.
Exit status: 0 when every bar passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402  (bench/ is a directory of scripts, not a package)

_YAML_RS_LOAD = """\
import os, sys, yaml_rs
count = 0
for directory, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(directory, name), "rb") as handle:
                data = yaml_rs.loads(handle.read().decode("utf-8"), parse_datetime=False)
            count += len(data) if isinstance(data, list) else 1
print(count)
"""

_PYYAML_LOAD = """\
import os, sys, yaml
count = 0
for directory, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(directory, name), "rb") as handle:
                count += sum(1 for _ in yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))
print(count)
"""

_LOADER_ONLY = """\
import sys
from pathlib import Path
from gitops_kit.config import load_config
from gitops_kit.discover import discover
from gitops_kit.loader import load_file
root = Path(sys.argv[1])
config = load_config(root)
count = 0
for source in discover([root], config).files:
    documents, _problems = load_file(source.path, source.file, config.limits)
    count += len(documents)
print(count)
"""

# One process: yaml_rs-load every file (timed), then validate every loaded object with the schema
# service the `schema-validation` rule uses (timed). Validators are compiled once before timing,
# as they are early in a long run; the output is one line "loaded validated load_seconds validate_seconds".
_SCHEMA_ALONE = """\
import os, sys, time, yaml_rs
from gitops_kit.schemas import SchemaService
started = time.perf_counter()
objects = []
for directory, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(directory, name), "rb") as handle:
                data = yaml_rs.loads(handle.read().decode("utf-8"), parse_datetime=False)
            objects.extend(data if isinstance(data, list) else [data])
load_seconds = time.perf_counter() - started
# like the rule: only Kubernetes objects (the root .sops.yaml is tool configuration)
kube = [obj for obj in objects if isinstance(obj, dict) and obj.get("apiVersion") and obj.get("kind")]
service = SchemaService()
for api_version, kind in {(obj["apiVersion"], obj["kind"]) for obj in kube}:
    service.validator(api_version, kind)
started = time.perf_counter()
errors = 0
for obj in kube:
    errors += len(service.validate(obj, obj["apiVersion"], obj["kind"]) or ())
validate_seconds = time.perf_counter() - started
if errors:
    sys.exit(f"bench: the corpus has {errors} schema errors; it must be clean to measure checking, not reporting")
print(len(objects), len(kube), load_seconds, validate_seconds)
"""


@dataclass
class Measurement:
    label: str
    seconds: float  # median wall time
    rss_mib: float  # median peak RSS of the process
    documents: int = 0

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.documents and self.seconds else 0.0


def _measure(label: str, command: list[str], repeat: int, documents: int = 0, env: dict[str, str] | None = None) -> Measurement:
    times, rss = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        # wait4 gives this child's own peak RSS (getrusage(RUSAGE_CHILDREN) would mix all children)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        if process.returncode not in (0, 1):
            raise SystemExit(f"bench: `{' '.join(command)}` exited {process.returncode}:\n{stderr[-2000:]}")
        times.append(elapsed)
        rss.append(usage.ru_maxrss / 1024)  # KiB on Linux
    return Measurement(label, statistics.median(times), statistics.median(rss), documents)


def _render_cache(gitops_kit: str, fleet: Path, clusters: int, repeat: int, workdir: Path) -> tuple[Measurement, Measurement]:
    """First and second `validate` of an unchanged fleet, each repeat with its own fresh cache dir."""
    first, second = [], []
    command = [gitops_kit, "validate", "--quiet", str(fleet)]
    for index in range(repeat):
        cache = workdir / f"render-cache-{index}"
        shutil.rmtree(cache, ignore_errors=True)
        env = {**os.environ, "GITOPS_KIT_CACHE_DIR": str(cache)}
        first.append(_measure("first", command, 1, env=env))
        second.append(_measure("second", command, 1, env=env))
        shutil.rmtree(cache, ignore_errors=True)

    def median(label: str, runs: list[Measurement]) -> Measurement:
        return Measurement(label, statistics.median(r.seconds for r in runs), statistics.median(r.rss_mib for r in runs))

    label = f"validate fleet, {clusters} overlays"
    return median(f"{label}, empty cache", first), median(f"{label}, cached", second)


def _changed_since(gitops_kit: str, fleet: Path, clusters: int, repeat: int, workdir: Path) -> tuple[Measurement, Measurement]:
    """A full `validate` of the fleet and `validate --changed-since HEAD` after one cluster's patch
    changed, each run with its own empty render cache (what a pull-request job without a cache pays)."""
    import git  # GitPython: a dependency of gitops-kit

    repo_dir = workdir / f"pr-fleet-{clusters}"
    shutil.rmtree(repo_dir, ignore_errors=True)
    shutil.copytree(fleet, repo_dir)
    repo = git.Repo.init(repo_dir)
    repo.index.add([str(p.relative_to(repo_dir)) for p in repo_dir.rglob("*") if p.is_file() and ".git" not in p.parts])
    actor = git.Actor("bench", "bench@example.org")
    repo.index.commit("fleet", author=actor, committer=actor)
    changed = repo_dir / "clusters" / f"cluster-{clusters // 2:03d}" / "replicas.yaml"
    changed.write_text(changed.read_text(encoding="utf-8").replace("replicas:", "replicas: 7 #"), encoding="utf-8")
    full, pull_request = [], []
    for index in range(repeat):
        for runs, command in (
            (full, [gitops_kit, "validate", "--quiet", str(repo_dir)]),
            (pull_request, [gitops_kit, "validate", "--quiet", "--changed-since", "HEAD", str(repo_dir)]),
        ):
            cache = workdir / f"pr-cache-{index}"
            shutil.rmtree(cache, ignore_errors=True)
            runs.append(_measure("run", command, 1, env={**os.environ, "GITOPS_KIT_CACHE_DIR": str(cache)}))
            shutil.rmtree(cache, ignore_errors=True)
    label = f"validate fleet, {clusters} overlays"
    return (
        Measurement(f"{label}, full (empty cache)", statistics.median(r.seconds for r in full), statistics.median(r.rss_mib for r in full)),
        Measurement(
            f"{label}, --changed-since (1 cluster)",
            statistics.median(r.seconds for r in pull_request),
            statistics.median(r.rss_mib for r in pull_request),
        ),
    )


# The cookiecutter rendering `new cluster` does, alone: the same templates and contexts for the fleet
# recorded in a generated repository, rendered into a temporary directory; no validation, no sops,
# no writing into the repository, no git.
_COOKIECUTTER_ALONE = """\
import sys
from gitops_kit.generate.config_edit import read_fleet
from gitops_kit.generate.render import render_fleet
with open(sys.argv[1], encoding="utf-8") as handle:
    fleet = read_fleet(handle.read())
print(len(render_fleet(fleet)))
"""


def _new_cluster(gitops_kit: str, python: str, repeat: int, workdir: Path) -> tuple[Measurement, Measurement]:
    """`new cluster` with every add-on into a fresh repository, and cookiecutter rendering the same templates alone."""
    generated, alone = [], []
    runs = workdir / "new-cluster"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir()
    # Every run's repository and cache stay until all runs are done: on ext4, removing a few hundred files
    # makes the next runs' file creations slower for a while (it skips recently freed inodes), which would
    # charge `new cluster` (~270 new files: the repository, .git, keys, caches) for the previous run.
    for index in range(repeat):
        repo = runs / f"repo-{index}"
        # new keys and the mesh CA go to the run's own folder: each run is a fleet's first (and the user's
        # ~/.config is left alone)
        env = {**os.environ, "GITOPS_KIT_CACHE_DIR": str(runs / f"cache-{index}"), "GITOPS_KIT_KEY_DIR": str(runs / f"keys-{index}")}
        command = [gitops_kit, "new", "cluster", "bench-001", "--repo", str(repo), "--flavor", "flux", "--no-input"]
        generated.append(_measure("new", command, 1, env=env))
        alone.append(_measure("alone", [python, "-c", _COOKIECUTTER_ALONE, str(repo / ".gitops-kit.yaml")], 1, env=env))
    shutil.rmtree(runs, ignore_errors=True)
    return (
        Measurement("gitops-kit new cluster (all add-ons, flux)", statistics.median(r.seconds for r in generated),
                    statistics.median(r.rss_mib for r in generated)),
        Measurement("  cookiecutter rendering the same templates", statistics.median(r.seconds for r in alone),
                    statistics.median(r.rss_mib for r in alone)),
    )


def _hook_entry(hook_id: str) -> list[str]:
    """The command of one of the project's pre-commit hooks, as pre-commit runs it (files appended)."""
    import shlex

    import yaml_rs

    hooks = yaml_rs.loads((Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    entry = next(hook["entry"] for hook in hooks if hook["id"] == hook_id)
    return shlex.split(entry)


def _schema_alone(python: str, path: Path, repeat: int) -> tuple[Measurement, Measurement]:
    """In-process times of a bare yaml_rs load and of schema validation of the same objects (medians)."""
    loads, validations, loaded, validated = [], [], 0, 0
    for _ in range(repeat):
        result = subprocess.run([python, "-c", _SCHEMA_ALONE, str(path)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"bench: schema-alone measurement exited {result.returncode}:\n{result.stderr[-2000:]}")
        loaded_text, validated_text, load_seconds, validate_seconds = result.stdout.split()
        loaded, validated = int(loaded_text), int(validated_text)
        loads.append(float(load_seconds))
        validations.append(float(validate_seconds))
    return (
        Measurement(f"yaml_rs load ({loaded:,} docs, in-process)", statistics.median(loads), 0.0, loaded),
        Measurement(f"schema validation alone ({validated:,} objects)", statistics.median(validations), 0.0, validated),
    )


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"bench: `{name}` not found next to {sys.executable} or on PATH; run `pip install -e .`")
    return found


def _has_pyyaml_c() -> bool:
    try:
        import yaml
    except ImportError:
        return False
    return bool(getattr(yaml, "__with_libyaml__", False))


def _rule_ids() -> list[str]:
    from gitops_kit.rulebase import all_rules

    return sorted(all_rules())


def _table(rows: list[Measurement]) -> str:
    lines = [f"{'measurement':44} {'wall s':>8} {'docs/s':>10} {'peak RSS MiB':>13}"]
    for row in rows:
        rate = f"{row.docs_per_second:,.0f}" if row.documents else "-"
        rss = f"{row.rss_mib:13.1f}" if row.rss_mib else f"{'-':>13}"  # in-process rows have no RSS of their own
        lines.append(f"{row.label:44} {row.seconds:8.3f} {rate:>10} {rss}")
    return "\n".join(lines)


def _bar(name: str, value: float, limit: float, higher_is_better: bool) -> tuple[bool, str]:
    passed = value >= limit if higher_is_better else value <= limit
    relation = "≥" if higher_is_better else "≤"
    return passed, f"{'PASS' if passed else 'FAIL'}  {name}: {value:.2f} (bar {relation} {limit})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=6000, help="small flat corpus (default 6000)")
    parser.add_argument("--large", type=int, default=60000, help="large flat corpus, for the memory bar (default 60000)")
    parser.add_argument("--clusters", type=int, default=0, help="also time validate on a fleet of this many clusters")
    parser.add_argument("--render-clusters", type=int, default=50,
                        help="overlays in the fleet for the render-cache and --changed-since bars (default 50)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--keep", type=Path, help="write the corpora here and keep them (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.documents < 3 or args.large < 3 or args.render_clusters < 1:
        parser.error("--repeat and --render-clusters must be ≥ 1 and corpora need at least 3 documents")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="gitops-kit-bench-"))
    try:
        return _bench(args, workdir)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(args: argparse.Namespace, workdir: Path) -> int:
    python, gitops_kit = sys.executable, _tool("gitops-kit")
    # Measure what an installed gitops-kit runs: byte-compiled modules (pip compiles a wheel's modules
    # at install time; an editable install under PYTHONDONTWRITEBYTECODE would recompile every run).
    import compileall

    import gitops_kit as package

    compileall.compile_dir(str(Path(package.__file__).parent), quiet=1)
    small, large, single = workdir / f"flat-{args.documents}", workdir / f"flat-{args.large}", workdir / "single"
    for path in (small, large, single):
        if path.exists():
            shutil.rmtree(path)
    small_docs = corpus.write_flat(small, args.documents)
    large_docs = corpus.write_flat(large, args.large)
    corpus.write_flat(single, 3)
    one_file = next(p for p in sorted(single.rglob("*.yaml")) if not p.name.startswith("."))  # a manifest, not .sops.yaml

    print(f"gitops-kit benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    rules = _rule_ids()
    print(f"rules present ({len(rules)}): {', '.join(rules)}")
    print(f"median of {args.repeat} runs per row ({args.repeat * 5}, interleaved, for the single-file rows; {(args.repeat + 1) // 2} for the large corpus); every row is a separate process\n")

    repeat = args.repeat
    # the pre-commit case: the schema cache is warm after a hook's first run; the cold row shows the first run
    warm_cache = {**os.environ, "GITOPS_KIT_CACHE_DIR": str(workdir / "one-file-cache")}
    _measure("warm-up", [gitops_kit, "validate", str(one_file)], 1, env=warm_cache)
    lint_hook = _hook_entry("gitops-kit-lint")
    # Runs of a few tens of milliseconds are at the mercy of the machine's noise: more of them, and
    # interleaved (interpreter, one file, hook, interpreter, …), so a slow moment hits every row alike.
    short = repeat * 5
    single = {
        "python -c pass": ([python, "-c", "pass"], None, 0),
        "gitops-kit validate one-file.yaml": ([gitops_kit, "validate", str(one_file)], warm_cache, 3),
        "pre-commit gitops-kit-lint hook, one file": ([_tool(lint_hook[0]), *lint_hook[1:], str(one_file)], warm_cache, 3),
    }
    samples: dict[str, list[Measurement]] = {label: [] for label in single}
    for _ in range(short):
        for label, (command, env, docs) in single.items():
            samples[label].append(_measure(label, command, 1, docs, env=env))
    start_up, one, lint = (
        Measurement(label, statistics.median(r.seconds for r in runs), statistics.median(r.rss_mib for r in runs), single[label][2])
        for label, runs in samples.items()
    )
    cold = []
    for index in range(repeat):
        cache = workdir / f"one-file-cold-{index}"
        cold.append(_measure("cold", [gitops_kit, "validate", str(one_file)], 1, 3, env={**os.environ, "GITOPS_KIT_CACHE_DIR": str(cache)}))
        shutil.rmtree(cache, ignore_errors=True)
    one_cold = Measurement("  same, empty schema cache (first run)", statistics.median(r.seconds for r in cold), statistics.median(r.rss_mib for r in cold), 3)
    rows = [start_up, one, one_cold, lint]
    results: dict[str, Measurement] = {}
    # the large corpus is only there for the memory bar: fewer repeats keep the run under five minutes
    for name, path, docs, runs in (("small", small, small_docs, repeat), ("large", large, large_docs, (repeat + 1) // 2)):
        suffix = f" ({docs:,} docs)"
        results[f"yaml_rs {name}"] = _measure("yaml_rs load" + suffix, [python, "-c", _YAML_RS_LOAD, str(path)], runs, docs)
        if name == "small" and _has_pyyaml_c():
            results[f"pyyaml {name}"] = _measure(
                "PyYAML CSafeLoader load" + suffix, [python, "-c", _PYYAML_LOAD, str(path)], max(1, runs // 2), docs
            )
        results[f"loader {name}"] = _measure("gitops-kit loader" + suffix, [python, "-c", _LOADER_ONLY, str(path)], runs, docs)
        results[f"validate {name}"] = _measure(
            "gitops-kit validate" + suffix, [gitops_kit, "validate", "--quiet", str(path)], runs, docs
        )
    rows.extend(results.values())
    if args.clusters:
        fleet = workdir / f"fleet-{args.clusters}"
        if fleet.exists():
            shutil.rmtree(fleet)
        corpus.write_fleet(fleet, args.clusters)
        rows.append(_measure(f"gitops-kit validate fleet ({args.clusters} clusters)", [gitops_kit, "validate", "--quiet", str(fleet)], repeat))
    render_fleet = workdir / f"render-fleet-{args.render_clusters}"
    if render_fleet.exists():
        shutil.rmtree(render_fleet)
    corpus.write_fleet(render_fleet, args.render_clusters)
    first_render, cached_render = _render_cache(gitops_kit, render_fleet, args.render_clusters, repeat, workdir)
    pr_full, pr_changed = _changed_since(gitops_kit, render_fleet, args.render_clusters, max(1, (repeat + 1) // 2), workdir)
    load_alone, schema_alone = _schema_alone(python, small, repeat)
    new_cluster, cookiecutter_alone = _new_cluster(gitops_kit, python, repeat, workdir)
    rows.extend((first_render, cached_render, pr_full, pr_changed, load_alone, schema_alone, new_cluster, cookiecutter_alone))
    print(_table(rows))

    validate_small, bare_small = results["validate small"], results["yaml_rs small"]
    print("\nratios")
    print(f"  validate / yaml_rs docs/s at {small_docs:,} docs: {validate_small.docs_per_second / bare_small.docs_per_second:.2f}")
    print(f"  validate / yaml_rs wall time at {small_docs:,} docs:  {validate_small.seconds / bare_small.seconds:.2f}")
    print(f"  loader / yaml_rs docs/s at {small_docs:,} docs:   {results['loader small'].docs_per_second / bare_small.docs_per_second:.2f}")
    print(f"  one-file validate / python -c pass:           {one.seconds / start_up.seconds:.2f}")
    print(f"  one-file, empty schema cache / python -c pass: {one_cold.seconds / start_up.seconds:.2f}")
    print(f"  lint hook, one file / python -c pass:         {lint.seconds / start_up.seconds:.2f}")
    print(f"  validate RSS {large_docs:,} / {small_docs:,} docs:       {results['validate large'].rss_mib / validate_small.rss_mib:.2f}")
    render_speedup = first_render.seconds / cached_render.seconds
    schema_share = schema_alone.docs_per_second / load_alone.docs_per_second
    print(f"  fleet validate, empty ÷ cached render wall:   {render_speedup:.2f}")
    print(f"  schema validation / yaml_rs load docs/s:      {schema_share:.2f}")
    pr_share = pr_changed.seconds / pr_full.seconds
    print(f"  --changed-since (1 of {args.render_clusters}) ÷ full run wall:  {pr_share:.2f}")
    generator_share = new_cluster.seconds / cookiecutter_alone.seconds
    print(f"  new cluster ÷ cookiecutter alone wall:        {generator_share:.2f}")

    bars = [
        _bar(f"validate docs/s ÷ yaml_rs docs/s at {small_docs:,} docs", validate_small.docs_per_second / bare_small.docs_per_second, 0.5, True),
        _bar("one-file validate wall ÷ python -c pass wall", one.seconds / start_up.seconds, 3.0, False),
        _bar(f"validate peak RSS at {large_docs:,} ÷ at {small_docs:,} docs", results["validate large"].rss_mib / validate_small.rss_mib, 1.3, False),
        _bar(f"fleet ({args.render_clusters} overlays) first run wall ÷ cached second run wall", render_speedup, 5.0, True),
        _bar(f"schema validation docs/s ÷ yaml_rs load docs/s at {small_docs:,} docs", schema_share, 0.5, True),
        _bar(f"--changed-since, one of {args.render_clusters} clusters changed, wall ÷ full run wall", pr_share, 0.10, False),
        _bar("pre-commit lint hook on one file wall ÷ python -c pass wall", lint.seconds / start_up.seconds, 3.0, False),
        _bar("new cluster (all add-ons) wall ÷ cookiecutter rendering the same templates wall", generator_share, 1.5, False),
    ]
    print("\nbars")
    for _passed, line in bars:
        print("  " + line)
    return 0 if all(passed for passed, _ in bars) else 1


if __name__ == "__main__":
    sys.exit(main())
