"""`gitops-kit validate [PATH…]`."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from pathlib import Path


def _formats() -> list[str]:
    from .. import report

    return report.names()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate manifests and repository structure",
        description=(
            "Load every YAML file under PATH (default: .), render the kustomization roots, run all enabled rules and "
            "report findings. With --changed-since REF only the overlays and files the changes since REF affect are "
            "validated (docs/pr-mode.md). On a terminal, runs longer than 2 s show a progress display on stderr "
            "(not in CI, not with --quiet)."
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument(
        "-f", "--format", choices=_formats(),
        help="output format (default: github when GITHUB_ACTIONS=true, else text)",
    )
    parser.add_argument(
        "--changed-since", metavar="REF",
        help="pull-request mode: validate only the overlays and files affected by changes since git revision REF "
        "(committed, staged, unstaged and untracked; docs/pr-mode.md)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically) instead of stdout")
    parser.add_argument(
        "--fail-on", choices=["error", "warning", "info"], help="lowest severity that exits 1 (default: error)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only: no notes, summary line or progress display")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="colour (default: auto)")
    parser.add_argument("-c", "--config", metavar="FILE", help="configuration file (default: <root>/.gitops-kit.yaml)")
    parser.add_argument("--baseline", metavar="FILE", help="ignore findings recorded in this baseline file")
    parser.add_argument("--write-baseline", metavar="FILE", help="record current findings as the baseline and exit 0")
    parser.add_argument("--rule", action="append", metavar="ID", help="run only this rule (repeatable)")
    parser.add_argument("--disable", action="append", metavar="ID", default=[], help="disable a rule (repeatable)")
    parser.add_argument(
        "--kubernetes-version", metavar="X.Y", help="target Kubernetes version (overrides targets.kubernetes)"
    )
    for component, label in (("flux", "Flux"), ("argocd", "Argo CD"), ("cilium", "Cilium")):
        parser.add_argument(
            f"--{component}-version", metavar="X.Y", help=f"target {label} version (overrides targets.{component})"
        )
    parser.add_argument(
        "--target", action="append", default=[], metavar="COMPONENT=X.Y", help="target version of a component, e.g. flux=2.7"
    )
    parser.add_argument(
        "--schema-engine", choices=["builtin", "kubeconform"], help="schema validator (default: builtin, offline)"
    )
    parser.add_argument(
        "--strict-schemas", action="store_true", help="an object with no known schema is an error (schema-missing)"
    )
    parser.add_argument(
        "--schema-location", action="append", default=[], metavar="DIR|TEMPLATE",
        help="extra local schema folder or kubeconform template, e.g. 'schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..config import ConfigError, RuleSettings, find_root, load_config
    from ..engine import validate
    from ..errors import UserError
    from ..model import Severity
    from ..report import RenderOptions, get
    from ..rulebase import rule_entries
    from ._output import emit, use_color

    if args.format is None:  # inside GitHub Actions, findings become workflow annotations without extra flags
        args.format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    paths: list = list(args.paths or ["."])
    first = paths[0]
    start = os.path.dirname(os.path.abspath(args.config)) if args.config else (first if os.path.exists(first) else os.getcwd())
    root = find_root(start)
    config = load_config(root, args.config)
    overrides = {}
    targets = dict(config.targets)
    for item in args.target:
        component, sep, version = item.partition("=")
        if not sep or not component or not version:
            raise ConfigError(f"--target {item!r}: expected COMPONENT=VERSION, e.g. flux=2.7")
        targets[component] = version.lstrip("v")
    if args.kubernetes_version:
        targets["kubernetes"] = args.kubernetes_version.lstrip("v")
    for component in ("flux", "argocd", "cilium"):
        version = getattr(args, f"{component}_version")
        if version:
            targets[component] = version.lstrip("v")
    overrides["targets"] = targets
    if args.disable:
        known = rule_entries()
        rules = dict(config.rules)
        for rule_id in args.disable:
            if rule_id not in known:
                raise ConfigError(f"--disable {rule_id}: unknown rule (`gitops-kit rules` lists them)")
            rules[rule_id] = RuleSettings(enabled=False)
        overrides["rules"] = rules
    if args.rule:
        unknown = [r for r in args.rule if r not in rule_entries()]
        if unknown:
            raise ConfigError(f"--rule {unknown[0]}: unknown rule (`gitops-kit rules` lists them)")
    schema_section = dict(config.section("schemas"))
    if args.schema_engine:
        schema_section["engine"] = args.schema_engine
    if args.strict_schemas:
        schema_section["strict-schemas"] = True
    if args.schema_location:
        configured = schema_section.get("locations", [])
        schema_section["locations"] = list(args.schema_location) + (list(configured) if isinstance(configured, list) else [configured])
    if schema_section:
        overrides["sections"] = {**config.sections, "schemas": schema_section}
    config = config.with_overrides(**overrides)

    scope_note = ""
    if args.changed_since:
        if args.write_baseline:
            raise ConfigError("--write-baseline records the whole repository: do not combine it with --changed-since")
        paths, scope_note = _changed_paths(args.changed_since, root, config, paths if args.paths else [])
    if args.write_baseline:
        from ..baseline import write_baseline

        report = validate(paths, config, rules=args.rule, baseline="")
        from pathlib import Path

        count = write_baseline(report, Path(args.write_baseline))
        print(f"gitops-kit: wrote {count} finding(s) to baseline {args.write_baseline}", file=sys.stderr)
        return 0
    if paths:
        from ..progress import progress

        # drawn only on slow runs attached to a terminal; the engine advances it per file and overlay
        with progress("validating", quiet=args.quiet) as bar:
            bar.start(None, f"validating {len(paths)} path(s)")
            try:
                report = validate(paths, config, rules=args.rule, baseline=args.baseline, progress=bar)
            except UserError as err:
                _report_failure(args, config, str(err))
                raise
    else:  # nothing the change touches is validated: an empty, clean report
        from ..model import Report

        report = Report(root=str(config.root), rule_ids=list(args.rule or ()))
    if scope_note:
        report.notifications.insert(0, scope_note)
        if args.format != "text" and not args.quiet:
            print(f"gitops-kit: {scope_note}", file=sys.stderr)
    if args.quiet:
        report.notifications = []
    fail_on = Severity.parse(args.fail_on) if args.fail_on else config.fail_on
    formatter = get(args.format)
    options = RenderOptions(
        color=use_color(args.color) and not args.output and args.format == "text",
        tool_version=__version__,
        fail_on=fail_on.label,
    )
    text = formatter.render(report, options)
    if args.quiet and args.format == "text":
        text = "".join(line + "\n" for line in text.splitlines()[:-1])  # drop the summary line
    emit(text, args.output)
    return 1 if report.failed(fail_on) else 0


MACHINE_FORMATS = ("json", "sarif", "junit", "gitlab")


def _report_failure(args: argparse.Namespace, config, message: str) -> None:
    """The run failed (exit 2): a machine-readable report still gets a valid document saying so, so a
    CI step that uploads it (SARIF to code scanning, JUnit) does not choke on an empty file."""
    if args.format not in MACHINE_FORMATS:
        return
    from .. import __version__
    from ..model import Report
    from ..report import RenderOptions, get
    from ._output import emit

    failed = Report(root=str(config.root), error=message)
    emit(get(args.format).render(failed, RenderOptions(tool_version=__version__)), args.output)


def _changed_paths(ref: str, root: str, config, scopes: list[str]) -> tuple[list[Path], str]:
    """Pull-request mode: the overlay directories and files the changes since `ref` affect."""
    from pathlib import Path

    from ..changes import build_index, git_changes, restrict, select
    from ..config import relative_posix

    repo = Path(root)
    changes = git_changes(repo, ref)
    if scopes:
        changes = restrict(changes, [relative_posix(Path(p).resolve(), repo.resolve()) for p in scopes])
    selection = select(changes, build_index(repo, config))
    return [repo / p if p != "." else repo for p in selection.paths()], selection.summary(ref)
