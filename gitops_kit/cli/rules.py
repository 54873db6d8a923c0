"""`gitops-kit rules [--explain ID] [--format text|json|markdown]`."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rules", help="list the rules, or explain one", description="List every rule.")
    parser.add_argument("--explain", metavar="ID", help="print one rule's documentation: what, why, example, fix")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..rulebase import all_rules, get_rule
    from ..ruledocs import rule_markdown, rules_markdown
    from ..errors import UserError

    if args.explain:
        try:
            rule = get_rule(args.explain)
        except KeyError as err:
            raise UserError(str(err.args[0])) from None
        print(rule_markdown(rule), end="")
        return 0
    rules = all_rules()
    if args.format == "markdown":
        print(rules_markdown(rules.values()), end="")
    elif args.format == "json":
        payload = [
            {
                "id": r.id,
                "severity": r.severity.label,
                "scope": r.scope,
                "kinds": sorted(r.kinds) if r.kinds else None,
                "enabled_by_default": r.default_enabled,
                "summary": r.summary,
                "rationale": r.rationale,
                "fix": r.fix,
            }
            for r in rules.values()
        ]
        import json

        print(json.dumps(payload, indent=2))
    else:
        width = max(len(r) for r in rules)
        for rule in rules.values():
            flag = "" if rule.default_enabled else " (opt-in)"
            print(f"{rule.id:<{width}}  {rule.severity.label:<7}  {rule.summary}{flag}")
        print(f"\n{len(rules)} rules. `gitops-kit rules --explain ID` shows one; docs/rules.md has them all.")
    return 0
