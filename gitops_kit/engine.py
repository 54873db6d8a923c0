"""The validation pipeline: discover → load → (render) → check → suppress → report.

Rules run here and nowhere else; suppression (config, annotations, comments, baseline) is applied
after the rules ran, so rules never read configuration for severity or suppression.
"""

from __future__ import annotations

import os
import sys
import time

from . import locate
from .config import Config, find_root, load_config
from .discover import Discovery, SourcePath, discover
from .errors import UserError
from .loader import line_ignores, load_file, read_limited
from .model import DocRef, Document, Finding, Report, Violation, object_setattr
from .rulebase import Context, Rule, RuleEntry, load_rule, name_patterns, rule_entries

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping, Sequence

    from os import PathLike

    from .render import RenderResult


class RuleSet:
    """The enabled rules, dispatched by what each rule's selector asks for (rulebase.Selector); a rule's
    module is imported the first time a document it applies to shows up (a run over Deployments never
    imports the GPU or Flux rules).

    `rules` maps rule ids to `Rule`s or to index entries (`RuleEntry`): both carry the selector.
    """

    def __init__(self, rules: Mapping[str, Rule | RuleEntry]) -> None:
        self.entries = dict(rules)
        self._rules: dict[str, Rule] = {rule_id: r for rule_id, r in self.entries.items() if isinstance(r, Rule)}
        # (kind, is_object, markers, names, api_version) → (document rules, aggregate rules), filled on
        # first use: one dict lookup per document on the hot path
        self._dispatch: dict[tuple, tuple[tuple[Rule, ...], tuple[Rule, ...]]] = {}
        #: whether some enabled rule selects objects by apiVersion (it is then part of the dispatch key)
        self.by_api_version = any(entry.api_versions is not None for entry in self.entries.values())
        #: every marker key and file name pattern some enabled rule selects by
        self.marker_keys = tuple(sorted({key for entry in self.entries.values() for key in entry.marker_keys}))
        patterns = {pattern for entry in self.entries.values() for pattern in entry.file_names}
        self.file_names = tuple(sorted(patterns))
        self._exact_names = frozenset(p for p in patterns if not p.startswith("*"))
        self._suffixes = tuple(p[1:] for p in patterns if p.startswith("*"))

    @classmethod
    def build(cls, config: Config, only: Iterable[str] | None = None) -> "RuleSet":
        selected = set(only) if only is not None else None
        enabled = {
            rule_id: entry
            for rule_id, entry in rule_entries().items()
            if (selected is None or rule_id in selected) and config.rule_enabled(rule_id, entry.default_enabled)
        }
        return cls(enabled)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.entries)

    def get(self, rule_id: str) -> Rule | None:
        """The enabled rule with this id (imported on first use), or None when it is not enabled."""
        rule = self._rules.get(rule_id)
        if rule is None and rule_id in self.entries:
            rule = self._rules[rule_id] = load_rule(rule_id)
        return rule

    def names_of(self, file: str) -> tuple[str, ...]:
        """The file name patterns of the enabled rules that `file` (a relative path) matches."""
        name = file.rpartition("/")[2]
        if name in self._exact_names or (self._suffixes and name.endswith(self._suffixes)):
            return name_patterns(name, self.file_names)
        return ()

    def _select(self, key: tuple, aggregate: bool) -> tuple[Rule, ...]:
        chosen = [
            rule_id
            for rule_id, entry in self.entries.items()
            if entry.scope != "load" and (entry.scope != "document") == aggregate and entry.selects(*key)
        ]
        if not aggregate:  # documents rules run in a stable order: any-document, any-kind, by kind
            chosen.sort(key=lambda rule_id: (not self.entries[rule_id].any_document, self.entries[rule_id].kinds is not None))
        return tuple(self.get(rule_id) for rule_id in chosen)  # type: ignore[misc]

    def rules_for(
        self, kind: str, is_object: bool, markers: tuple[str, ...] = (), names: tuple[str, ...] = (), api_version: str = ""
    ) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
        """(document rules, aggregate rules) for such a document, each in a stable order; `api_version`
        counts only when some rule selects by it (`by_api_version`), else pass ""."""
        key = (kind, is_object, markers, names, api_version)
        found = self._dispatch.get(key)
        if found is None:
            found = self._dispatch[key] = (self._select(key, aggregate=False), self._select(key, aggregate=True))
        return found


class Engine:
    """Runs one validation; collects violations, then turns them into suppressed, sorted findings."""

    def __init__(self, config: Config, ruleset: RuleSet, context: Context) -> None:
        self.config = config
        self.ruleset = ruleset
        self.context = context
        self.violations: list[tuple[Rule, Violation]] = []
        # aggregate rule id → scope key → records
        self.records: dict[str, dict[str, list[Any]]] = {}
        self.files = 0
        self.documents = 0
        #: run-level notes for the report (e.g. a rule that crashed while aggregating)
        self.notes: list[str] = []
        #: findings already located and filtered by worker processes (parallel.py), merged in `findings`
        self.precomputed: list[Finding] = []
        self.suppressed_elsewhere = 0
        #: told about each file or overlay checked (`advance()`), for a progress display; None = nobody
        self.progress: Any = None

    # -- check ---------------------------------------------------------------------------------
    def check_documents(self, docs: Sequence[Document], manifest: bool = True) -> None:
        """Run document rules and collect aggregate records for the documents of one file or render.

        Each document reaches the rules whose selector (rulebase.Selector) picks it: objects in manifest
        files by kind, other documents when a rule asks for plain documents, marker keys or file names.
        A file whose documents are all non-objects (a values file, a config) is not a manifest.
        """
        ruleset = self.ruleset
        marker_keys = ruleset.marker_keys
        # one pass over the file: which documents are objects, which marker keys (e.g. `sops`) any holds
        objects = []
        present: set[str] | None = None
        for doc in docs:
            data = doc.data
            if isinstance(data, dict):
                objects.append("kind" in data or "apiVersion" in data)
                if marker_keys:
                    for key in marker_keys:
                        if key in data:
                            if present is None:
                                present = set()
                            present.add(key)
            else:
                objects.append(False)
        has_objects = manifest and True in objects
        context = self.context
        rules_for = ruleset.rules_for
        dispatch = ruleset._dispatch
        violations = self.violations
        records = self.records
        if has_objects:
            self.documents += len(docs)
        markers: tuple[str, ...] = tuple(key for key in marker_keys if key in present) if present else ()
        names_of = ruleset.names_of if ruleset.file_names else None
        by_api_version = ruleset.by_api_version
        last_file, names = None, ()
        directory_of, directory = None, ""  # the scope of the last file a record was kept for
        for doc, is_object in zip(docs, objects):
            is_object = has_objects and is_object
            if doc.manifest is not has_objects:
                object_setattr(doc, "manifest", has_objects)  # plain slot write: Document.__setattr__ is for `data`
            if names_of is not None:
                file = doc.ref.file
                if file is not last_file:
                    last_file, names = file, names_of(file)
            api_version = doc.api_version if by_api_version and is_object else ""
            found = dispatch.get((doc.kind, is_object, markers, names, api_version))
            checks, collectors = found if found is not None else rules_for(doc.kind, is_object, markers, names, api_version)
            # The hot loop: one call per (rule, document), no wrapper; a crash is isolated per rule.
            for rule in checks:
                try:
                    for violation in rule.check(doc, context):  # type: ignore[misc]
                        if violation.doc is None and violation.ref is None:
                            violation.doc = doc
                        violations.append((rule, violation))
                except RecursionError:
                    violations.append((rule, Violation("object nested too deeply to check", doc=doc)))
                except UserError:
                    raise  # configuration or tool problems are the user's to fix (exit 2), not rule bugs
                except Exception as err:  # noqa: BLE001 - a rule bug on odd input must not abort the whole run
                    violations.append((rule, _crash(rule, err, doc)))
            for rule in collectors:
                try:
                    record = rule.collect(doc, context)  # type: ignore[misc]
                except RecursionError:
                    violations.append((rule, Violation("object nested too deeply to check", doc=doc)))
                    continue
                except UserError:
                    raise
                except Exception as err:  # noqa: BLE001
                    violations.append((rule, _crash(rule, err, doc)))
                    continue
                if record is not None:  # kept per rule and scope (a directory, an overlay, "" = repository)
                    if rule.scope == "repository":
                        scope = ""
                    elif doc.overlay:
                        scope = doc.overlay
                    else:
                        file = doc.ref.file
                        if file is not directory_of:
                            directory_of, directory = file, _directory(file)
                        scope = directory
                    by_scope = records.get(rule.id)
                    if by_scope is None:
                        by_scope = records[rule.id] = {}
                    bucket = by_scope.get(scope)
                    if bucket is None:
                        by_scope[scope] = [record]
                    else:
                        bucket.append(record)

    def finish(self) -> None:
        """Run every aggregate rule over the records still held (repository rules, unflushed scopes)."""
        for rule_id in sorted(self.records):
            rule = self.ruleset.get(rule_id)
            for scope, records in sorted(self.records[rule_id].items()):
                if rule is not None:
                    self._finish(rule, scope, records)
        self.records.clear()

    def flush_scope(self, scope: str) -> None:
        """A scope (one directory of plain files, or one overlay) is complete: run its scope rules now
        and drop their records, so memory does not grow with the size of the repository."""
        for rule_id, by_scope in self.records.items():
            records = by_scope.pop(scope, None) if scope else None
            if records is not None:
                rule = self.ruleset.get(rule_id)
                if rule is not None and rule.scope == "scope":
                    self._finish(rule, scope, records)
                else:  # pragma: no cover - repository records are keyed "", never flushed
                    by_scope[scope] = records

    def _finish(self, rule: Rule, scope: str, records: list[Any]) -> None:
        try:
            for violation in rule.finish(records, self.context):  # type: ignore[misc]
                self.violations.append((rule, violation))
        except UserError:
            raise
        except Exception as err:  # noqa: BLE001 - one broken rule must not hide every other finding
            where = f" in {scope}" if scope else ""
            self.notes.append(
                f"rule {rule.id} crashed{where} ({type(err).__name__}); its findings there are missing — please report this bug"
            )

    def add_problem(self, rule_id: str, message: str, ref: DocRef, line: int, column: int) -> None:
        rule = self.ruleset.get(rule_id)
        if rule is not None:
            self.violations.append((rule, Violation(message, ref=ref, line=line, column=column)))

    # -- findings ------------------------------------------------------------------------------
    def findings(self) -> tuple[list[Finding], int]:
        """Violations → findings: locate, apply severity overrides and suppressions, merge overlays."""
        comment_ignores: dict[str, dict[int, frozenset[str]]] = {}
        merged: dict[tuple, tuple[Finding, set[str]]] = {}
        suppressed = 0
        for rule, violation in self.violations:
            doc = violation.doc
            ref = violation.ref or (doc.ref if doc is not None else None)
            path = violation.path
            if doc is not None and doc.patches and path and violation.ref is None:
                from .render.mapping import patch_location  # a patch set this field: point at the patch

                ref, path = patch_location(doc, path) or (ref, path)
            if ref is None:
                continue
            if rule.id in ref.ignored or "*" in ref.ignored:
                suppressed += 1
                continue
            if violation.line is not None:
                line, column = violation.line, violation.column or 1
            elif path:
                line, column = locate.position(ref, path)
                if violation.line_offset:
                    line, column = line + violation.line_offset, 1
            else:
                line, column = ref.line, 1
            if ref.path not in comment_ignores:
                comment_ignores[ref.path] = _comment_ignores(ref.path, self.config.limits.max_file_bytes)
            if rule.id in comment_ignores[ref.path].get(line, ()):
                suppressed += 1
                continue
            severity = self.config.severity_override(rule.id) or violation.severity or rule.severity
            obj = violation.object if violation.object is not None else ((doc.source_object or doc.object_id) if doc is not None else "")
            finding = Finding(
                rule_id=rule.id,
                severity=severity,
                message=violation.message,
                file=ref.file,
                line=line,
                column=column,
                object=obj,
                fix=violation.fix or rule.fix,
                docs=rule.docs_anchor,
            )
            key = finding.sort_key()
            overlay = doc.overlay if doc is not None else None
            if key in merged:
                if overlay:
                    merged[key][1].add(overlay)
            else:
                merged[key] = (finding, {overlay} if overlay else set())
        for finding in self.precomputed:
            key = finding.sort_key()
            if key in merged:
                merged[key][1].update(finding.overlays)
            else:
                merged[key] = (finding, set(finding.overlays))
        suppressed += self.suppressed_elsewhere
        findings = []
        for finding, overlays in merged.values():
            if overlays and tuple(sorted(overlays)) != finding.overlays:
                finding = finding.replace(overlays=tuple(sorted(overlays)))
            findings.append(finding)
        findings.sort()
        return findings, suppressed


def _crash(rule: Rule, err: Exception, doc: Document) -> Violation:
    """A rule that raised: reported at the object (with the rule's id) instead of a traceback."""
    reason = str(err).splitlines()[0][:200] if str(err) else ""
    return Violation(f"internal error: rule crashed on this object ({type(err).__name__}: {reason}); please report this bug", doc=doc)


def _directory(file: str) -> str:
    return file.rpartition("/")[0] or "."


def _comment_ignores(path: str, max_bytes: int) -> dict[int, frozenset[str]]:
    """Ignore comments of a file with findings; a file over the size limit was never loaded and has none."""
    try:
        with open(path, "rb") as handle:
            raw = read_limited(handle, max_bytes)
    except OSError:
        return {}
    if len(raw) > max_bytes:
        return {}
    return line_ignores(raw.decode("utf-8-sig", errors="replace"))


def load_into(engine: Engine, sources: Iterable[SourcePath], rendered_inputs: frozenset[str] | set[str] = frozenset()) -> None:
    """Load each file and feed its documents and load problems to the engine.

    Files in `rendered_inputs` (read by a kustomization) get their load problems reported but their
    documents are checked through the renders only: a patch is a partial object.
    """
    ordered = by_directory(sources)
    jobs = worker_count(ordered)
    # Parsed documents hold no reference cycles and are freed as each file is checked, so the cyclic
    # collector's frequent young-generation passes (every 700 container allocations) find nothing;
    # what start-up built is moved out of its way (gc.freeze, which also spares forked workers copying
    # pages it would touch). ≈ 2 % of a large run's CPU. The collector's settings are the process's:
    # only a run on the main thread of a process that froze nothing itself changes them (a library
    # caller's own freeze, or validations on several threads, are left alone).
    bulk = len(ordered) >= PARALLEL_MIN_FILES and _owns_the_collector()
    if bulk:
        import gc

        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(BULK_GC_THRESHOLD, *threshold[1:])
    try:
        if jobs > 1:
            from .parallel import load_in_parallel

            load_in_parallel(engine, ordered, rendered_inputs, jobs)
        else:
            load_serially(engine, ordered, rendered_inputs)
    finally:
        if bulk:
            gc.set_threshold(*threshold)
            gc.unfreeze()


#: container allocations between young-generation collections while a large input is checked
BULK_GC_THRESHOLD = 10_000


def _owns_the_collector() -> bool:
    import gc

    threading = sys.modules.get("threading")  # never imported: this is the only thread
    on_main = threading is None or threading.current_thread() is threading.main_thread()
    return on_main and gc.get_freeze_count() == 0


def by_directory(sources: Iterable[SourcePath]) -> Sequence[SourcePath]:
    """Files grouped by directory (each directory's files contiguous, by name), so that a directory's
    scope rules run as soon as its last file is loaded."""
    grouped = getattr(sources, "by_directory", None)
    if grouped is not None:  # discovery's FileList: kept in this order, builds each SourcePath when read (memory)
        return grouped()
    return sorted(sources, key=lambda source: source.file.rpartition("/")[::2])


def worker_count(sources: Sequence[SourcePath]) -> int:
    """Processes for loading and checking: all cores for large inputs, one for small ones (forking
    costs more than it saves below a few hundred files). `GITOPS_KIT_JOBS=N` sets it."""
    override = os.environ.get("GITOPS_KIT_JOBS", "")
    if override.isdigit() and int(override) > 0:
        return min(int(override), max(len(sources), 1))
    if len(sources) < PARALLEL_MIN_FILES or not hasattr(os, "fork"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, len(sources) // PARALLEL_MIN_FILES * 2, 8))


PARALLEL_MIN_FILES = 256


def load_serially(engine: Engine, sources: Sequence[SourcePath], rendered_inputs: frozenset[str] | set[str] = frozenset()) -> None:
    limits = engine.config.limits
    directory = None
    for source in sources:
        current = _directory(source.file)
        if current != directory:
            if directory is not None:
                engine.flush_scope(directory)
            directory = current
        engine.files += 1
        if engine.progress is not None:
            engine.progress.advance()
        docs, problems = load_file(source.path, source.file, limits)
        for problem in problems:
            ref = DocRef(source.path, source.file, problem.index, max(problem.line, 1), problem.ignored)
            engine.add_problem(problem.rule_id, problem.message, ref, problem.line, problem.column)
        if source.file not in rendered_inputs:
            engine.check_documents(docs, manifest=source.is_manifest)
    if directory is not None:
        engine.flush_scope(directory)


class _NothingRendered:
    """`render_into`'s result without kustomization roots: spares importing render/ (thread pool,
    subprocess, source mapping) on the single-file pre-commit path, where start-up time is a bar."""

    def __init__(self) -> None:
        self.input_files: frozenset[str] = frozenset()
        self.notifications: list[str] = []
        self.count = 0


def render_into(engine: Engine, discovery: Discovery) -> "RenderResult | _NothingRendered":
    """Render the top-level kustomization roots and check their objects (render/ has the details)."""
    if not discovery.kustomization_roots:
        return _NothingRendered()
    from .render import render_overlays

    rendered = render_overlays(discovery, engine.config)
    for overlay, docs in rendered.overlays.items():
        engine.check_documents(docs)
        engine.flush_scope(overlay)
        if engine.progress is not None:
            engine.progress.advance()
    for problem in rendered.problems:
        rule = engine.ruleset.get(problem.rule_id)
        if problem.doc is not None and rule is not None:
            # on a rendered object: located through its path, merged across overlays
            engine.violations.append((rule, Violation(problem.message, path=problem.path, doc=problem.doc)))
        else:
            engine.add_problem(problem.rule_id, problem.message, problem.ref, problem.line, problem.column)
    return rendered


def validate(
    paths: Sequence[str | PathLike[str]] = (".",),
    config: Config | None = None,
    *,
    rules: Iterable[str] | None = None,
    baseline: str | PathLike[str] | None = None,
    progress: Any = None,
) -> Report:
    """Validate the files and directories in `paths`; return every finding, sorted.

    `config` defaults to the `.gitops-kit.yaml` of the repository holding the first path.
    `rules` restricts the run to some rule ids (still subject to the configuration).
    `progress`, if given, gets `start(total, description)` once the files are known and
    `advance()` per file loaded and per overlay checked (gitops_kit.progress draws it).
    Raises `PathError` for a missing path and `ConfigError` for invalid configuration.
    """
    started = time.perf_counter()
    path_list = [path_text(p) for p in (paths or (".",))]
    if config is None:
        root = find_root(path_list[0]) if os.path.exists(path_list[0]) else os.getcwd()
        config = load_config(root)
    discovery: Discovery = discover(path_list, config)
    ruleset = RuleSet.build(config, rules)
    from .schemas import service_from_config  # light: the bundle and jsonschema_rs load on first use

    context = Context(
        root=str(config.root),
        targets=dict(config.targets),
        options=_rule_options(config, ruleset),
        # "fleet": the `fleet` section of .gitops-kit.yaml (read-only), e.g. a cluster's GPU model
        services={"schemas": service_from_config(config, many=len(discovery.files) >= PARALLEL_MIN_FILES), "fleet": config.section("fleet")},
    )
    engine = Engine(config, ruleset, context)
    if progress is not None:
        total = len(discovery.files) + len(discovery.kustomization_roots)
        progress.start(total, f"validating {len(discovery.files)} files, {len(discovery.kustomization_roots)} kustomizations")
        engine.progress = progress
    locate.clear_cache()
    rendered = render_into(engine, discovery)
    load_into(engine, discovery.files, rendered.input_files)
    engine.finish()
    findings, suppressed = engine.findings()
    report = Report(
        findings=findings,
        files=engine.files,
        documents=engine.documents,
        overlays=rendered.count,
        suppressed=suppressed,
        rule_ids=ruleset.ids,
        notifications=list(discovery.skipped) + rendered.notifications + engine.notes,
        root=str(config.root),
    )
    baseline_path = baseline if baseline is not None else config.baseline
    if baseline_path:
        from pathlib import Path

        from .baseline import apply_baseline

        apply_baseline(report, Path(config.root, baseline_path) if not Path(baseline_path).is_absolute() else Path(baseline_path))
    report.duration = time.perf_counter() - started
    return report


def path_text(path: str | PathLike[str]) -> str:
    """`str(Path(path))` without importing pathlib (~4 ms of the one-file start-up): repeated slashes and
    `.` segments dropped, `..` kept, exactly two leading slashes kept (POSIX)."""
    text = os.fspath(path)
    head = "//" if text.startswith("//") and not text.startswith("///") else "/" if text.startswith("/") else ""
    parts = [part for part in text.split("/") if part and part != "."]
    return head + "/".join(parts) if head or parts else "."


def _rule_options(config: Config, ruleset: RuleSet) -> dict[str, Any]:
    return {rule_id: config.rule_options(rule_id) for rule_id in ruleset.entries if config.rule_options(rule_id)}
