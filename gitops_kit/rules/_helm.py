"""Helm values a Flux HelmRelease or an Argo CD Application gives a chart, and where each value is written.

An Application's values come in layers, merged the way Argo CD hands them to Helm: the `valueFiles` in
order, then the inline `helm.valuesObject` (or, when absent, the YAML string `helm.values`). A value file
`$<ref>/<path>` names a file of the source with `ref: <ref>`; like the agreed fleet layout
(`clusters/<cluster>/values/<chart>.yaml` next to the Applications), it is taken to be this repository and
read relative to its root. That read is the one exception to "rules do no I/O": Argo CD reads the file at
sync time, so the values cannot be checked without it (files are cached, never read outside the root).

Findings inside merged values point at the layer that sets the value (a values file: its own file and
line). Inside a YAML string (`helm.values`) the path goes on into the string: `locate.position` reads a
literal (`|`) block as YAML; any other string is located at its `values` key.
"""

from __future__ import annotations

import os

from ..model import DocRef, Document
from ._memo import per_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

    from ..model import PathPart
    from ..rulebase import Context

    Path = tuple[PathPart, ...]

#: value files larger than this are not read (Helm values are kilobytes; the loader has its own limits)
MAX_VALUES_FILE = 4 * 1024 * 1024


class Layer:
    """One source of values: the document's own values (`ref` None) or a values file."""

    __slots__ = ("values", "ref", "path", "from_string")

    def __init__(self, values: Mapping[str, Any], ref: DocRef | None, path: Path, from_string: bool = False) -> None:
        self.values = values
        self.ref = ref
        #: path of the values mapping inside its document; for a YAML string the path of that string
        self.path = path
        self.from_string = from_string


class EmbeddedValues:
    """The values one chart gets from one HelmRelease or Application source, merged, with their layers."""

    __slots__ = ("chart", "doc", "values", "layers", "anchor", "version", "version_path", "complete", "problems")

    def __init__(self, chart: str, doc: Document, layers: list[Layer], anchor: Path, version: Any, version_path: Path) -> None:
        self.chart = chart
        self.doc = doc
        self.layers = layers
        self.values: Mapping[str, Any] = _merge([layer.values for layer in layers])
        #: where values would be written in the document (for "missing key" findings without a layer)
        self.anchor = anchor
        #: the chart version as written (HelmRelease spec.chart.spec.version, Argo CD targetRevision)
        self.version = version
        self.version_path = version_path
        #: True when these are all the values the chart gets (see `complete` below)
        self.complete = False
        #: (message, path) of value sources that cannot be read, for helm-values-schema to report
        self.problems: list[tuple[str, Path]] = []

    def where(self, *parts: PathPart, line_offset: int = 0) -> dict[str, Any]:
        """Keyword arguments for a `Violation` at `parts` inside the values: the layer that sets the deepest
        existing prefix of `parts` (a later layer wins, as in Helm). `line_offset` is kept only when `parts`
        exists in that layer and can be located (not inside a YAML string)."""
        best: tuple[int, Layer] | None = None
        for layer in self.layers:
            depth = _depth(layer.values, parts)
            if depth and (best is None or depth >= best[0]):
                best = (depth, layer)
        if best is None:
            return self.missing()
        depth, layer = best
        if layer.from_string:  # located inside the string (locate.position reads a `|` block as YAML)
            return {"path": layer.path + tuple(parts[:depth]), "ref": layer.ref, "doc": self.doc}
        exact = depth == len(parts)
        return {"path": layer.path + tuple(parts), "ref": layer.ref, "doc": self.doc, "line_offset": line_offset if exact else 0}

    def missing(self) -> dict[str, Any]:
        """Keyword arguments for a `Violation` about a key nobody sets: the last values file when the
        document has no values of its own (the key goes there), else the document's values."""
        last = self.layers[-1] if self.layers else None
        if last is not None and last.ref is not None:
            return {"path": (), "ref": last.ref, "doc": self.doc}
        return {"path": last.path if last is not None else self.anchor, "ref": None, "doc": self.doc}


def _depth(values: Any, parts: tuple) -> int:
    depth = 0
    for part in parts:
        if isinstance(values, dict) and part in values:
            values = values[part]
        elif isinstance(values, list) and isinstance(part, int) and 0 <= part < len(values):
            values = values[part]
        else:
            break
        depth += 1
    return depth


def _merge(layers: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Helm's coalescing: maps merge key by key, anything else is replaced, null deletes the key."""
    if len(layers) == 1:
        return layers[0]
    merged: dict[str, Any] = {}
    for layer in layers:
        _merge_into(merged, layer)
    return merged


def _merge_into(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = dict(target[key])
            _merge_into(target[key], value)
        else:
            target[key] = value


def chart_name(name: Any) -> str:
    # OCI and repository-qualified names: oci://registry/charts/gitlab-runner, gitlab/gitlab-runner
    return name.rstrip("/").rsplit("/", 1)[-1] if isinstance(name, str) else ""


def argo_sources(spec: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Path]]:
    source = spec.get("source")
    if isinstance(source, dict):
        yield source, ("spec", "source")
    sources = spec.get("sources")
    if isinstance(sources, list):
        for index, item in enumerate(sources):
            if isinstance(item, dict):
                yield item, ("spec", "sources", index)


@per_document  # up to seven rules ask in a row about the same HelmRelease or Application
def embedded_values(doc: Document, ctx: Context | None = None) -> tuple[EmbeddedValues, ...]:
    """Values of every chart a HelmRelease or Application installs (possibly empty mappings); shared by
    the rules that ask, so neither the tuple nor the values may be changed."""
    kind = doc.kind
    if kind != "HelmRelease" and kind != "Application":
        return ()
    return tuple(_embedded_values(doc, ctx))


def _embedded_values(doc: Document, ctx: Context | None) -> Iterator[EmbeddedValues]:
    spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
    if not isinstance(spec, dict):
        return
    if doc.kind == "HelmRelease" and doc.group == "helm.toolkit.fluxcd.io":
        chart = spec.get("chart")
        chart_spec = chart.get("spec") if isinstance(chart, dict) else None
        name = chart_name(chart_spec.get("chart")) if isinstance(chart_spec, dict) else ""
        chart_ref = spec.get("chartRef")
        if not name and isinstance(chart_ref, dict):
            # an OCIRepository / HelmChart source is usually named after the chart it serves
            name = chart_name(chart_ref.get("name"))
        if name:
            values = spec.get("values")
            version = chart_spec.get("version") if isinstance(chart_spec, dict) else None
            layer = Layer(values if isinstance(values, dict) else {}, None, ("spec", "values"))
            # Flux bases are patched per cluster and take spec.valuesFrom: never known to be complete
            yield EmbeddedValues(name, doc, [layer], ("spec", "values"), version, ("spec", "chart", "spec", "version"))
    elif doc.kind == "Application" and doc.group == "argoproj.io":
        sources = list(argo_sources(spec))
        for source, path in sources:
            name = chart_name(source.get("chart"))
            if name:
                yield _application_values(doc, ctx, name, source, path, sources)


def _application_values(doc: Document, ctx: Context | None, name: str, source: Mapping[str, Any], path: Path, sources: list) -> EmbeddedValues:
    helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
    layers: list[Layer] = []
    complete = not helm.get("parameters") and not helm.get("fileParameters")
    problems: list[tuple[str, Path]] = []
    files = helm.get("valueFiles")
    refs = {s.get("ref") for s, _ in sources if isinstance(s.get("ref"), str)}
    for index, entry in enumerate(files if isinstance(files, list) else []):
        layer, problem = _values_file(ctx, entry, refs, bool(helm.get("ignoreMissingValueFiles")))
        if layer is not None:
            layers.append(layer)
        else:
            complete = False  # a file inside the chart, another repository or unreadable: values unknown
            if problem:
                problems.append((problem, (*path, "helm", "valueFiles", index)))
    if isinstance(helm.get("valuesObject"), dict):
        layers.append(Layer(helm["valuesObject"], None, (*path, "helm", "valuesObject")))
    elif isinstance(helm.get("values"), str):
        parsed = _parse_yaml(helm["values"])
        layers.append(Layer(parsed if isinstance(parsed, dict) else {}, None, (*path, "helm", "values"), True))
    values = EmbeddedValues(name, doc, layers, path, source.get("targetRevision"), (*path, "targetRevision"))
    values.complete = complete
    values.problems = problems
    return values


def repository_value_file(entry: Any) -> tuple[str, str] | None:
    """(ref name, path) of a `valueFiles` entry `$<ref>/<path>`, which reads another source (taken to be
    this repository); None for a path relative to the chart's own source or one still templated."""
    if not isinstance(entry, str) or not entry.startswith("$") or "/" not in entry or "{{" in entry:
        return None
    ref_name, _, relative = entry[1:].partition("/")
    return ref_name, relative


def _values_file(ctx: Context | None, entry: Any, refs: set, ignore_missing: bool) -> tuple[Layer | None, str]:
    """The layer of one `valueFiles` entry, or (None, why it cannot be read; empty when that is expected)."""
    named = repository_value_file(entry)
    if named is None:
        return None, ""  # relative to the chart's own source (not in this repository), or still a template
    ref_name, relative = named
    if ref_name not in refs:
        return None, f"valueFiles entry {entry!r} names ${ref_name}, but no source of this Application has ref: {ref_name}"
    if ctx is None:
        return None, ""
    root = os.path.realpath(ctx.root)
    full = os.path.realpath(os.path.join(root, relative))
    if os.path.isabs(relative) or not full.startswith(root + os.sep):
        return None, f"valueFiles entry {entry!r} points outside the repository"
    loaded = _load(full, root)
    if isinstance(loaded, str):
        if loaded == "missing" and ignore_missing:
            return None, ""
        if loaded == "missing":
            return None, (
                f"valueFiles entry {entry!r}: {relative} does not exist in this repository; Argo CD fails to sync "
                "(unless the ref source is another repository, or helm.ignoreMissingValueFiles is true)"
            )
        return None, f"valueFiles entry {entry!r}: {loaded}"
    data, ref = loaded
    return Layer(data, ref, ()), ""


_cache: dict[tuple[str, int, int], Any] = {}


def _load(full: str, root: str) -> tuple[Mapping[str, Any], DocRef] | str:
    try:
        stat = os.stat(full)
    except OSError:
        return "missing"
    key = (full, stat.st_mtime_ns, stat.st_size)
    if key not in _cache:
        if len(_cache) > 1024:  # a long-lived process (tests, an editor integration): drop stale versions
            _cache.clear()
        _cache[key] = _read(full, root, stat.st_size)
    return _cache[key]


def _read(full: str, root: str, size: int) -> tuple[Mapping[str, Any], DocRef] | str:
    if not os.path.isfile(full):
        return "not a file"
    if size > MAX_VALUES_FILE:
        return f"larger than {MAX_VALUES_FILE // (1024 * 1024)} MiB, not read"
    try:
        with open(full, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        return f"cannot be read ({type(err).__name__})"
    data = _parse_yaml(text)
    if data is None and text.strip() and not text.lstrip().startswith("#"):
        return "is not valid YAML (see its yaml-syntax finding)"
    if data is not None and not isinstance(data, dict):
        return "is not a YAML mapping of values"
    rel = os.path.relpath(full, root).replace(os.sep, "/")
    return (data or {}), DocRef(full, rel, 0, _first_line(text))


def _first_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped != "---":
            return number
    return 1


def _parse_yaml(text: str) -> Any:
    from ._yaml import decode_error, loads

    try:
        return loads(text, parse_datetime=False)
    except (decode_error(), ValueError, RecursionError):
        return None  # a broken values string: the rules report missing keys, the Application fails to sync
