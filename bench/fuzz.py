"""Mutation fuzzing of the loader, the rules (through the engine) and every reporter.

    .venv/bin/python bench/fuzz.py --inputs 100000 --seed 1 [--crash-dir DIR] [--full-every 10]

Seeds are the repository's own fixtures (rule pass/fail fixtures, the sops test vectors, the
report tree). Each input is a seed with a few byte- and YAML-aware mutations. Every input goes
through `loader.decode` + `loader.load_text` and the engine's document and aggregate rules in
memory (cheap); every `--full-every`-th input also goes through the whole public pipeline
(`gitops_kit.validate` on a file, so findings are located) and every output format, whose JSON,
SARIF and JUnit output must parse.

A crash is an exception escaping any of these, a rule the engine had to catch ("internal error:
rule crashed"), or an output that does not parse. The first crash of each kind is written to
`--crash-dir` (default: ./fuzz-crashes) and the script exits 1; otherwise it prints a summary
and exits 0. tests/reliability/test_fuzz.py runs the same campaign with a CI-sized budget.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

#: fragments that steer mutations into the parser's and the rules' odd corners
TOKENS = (
    b"---\n", b"...\n", b"\t", b": ", b"&a ", b"*a", b"<<: *a\n", b"- ", b"\n  ", b"{", b"}", b"[", b"]",
    b"!!binary ", b"!!int ", b"!!str ", b"? ", b"|\n", b">-\n", b"'", b'"', b"#", b"%YAML 1.1\n", b"~",
    b"null", b"true", b"0x1F", b"1e400", b"9" * 60, b"-.inf", b".nan", b"2024-01-01", b"ENC[AES256_GCM,",
    b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\r\n", b"\x00", b"kind: ", b"apiVersion: ", b"metadata: ", b"name: ",
    b"namespace: ", b"spec: ", b"sops:\n", b"- name: x\n", b"[1, [2, [3]]]", b"{a: {b: {c: d}}}",
)


def seed_files() -> list[Path]:
    """Every YAML fixture gitops-kit's tests use as real-world input."""
    found = sorted((FIXTURES / "rules").rglob("*.yaml")) + sorted((FIXTURES / "sops").rglob("*.yaml"))
    found += sorted((FIXTURES / "report" / "tree").rglob("*.yaml"))
    return found


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """1-6 mutations: byte flips, cuts, token inserts, line duplication/indentation, seed splicing."""
    content = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        position = rng.randrange(len(content) + 1)
        action = rng.randrange(8)
        if action == 0 and content:
            content[min(position, len(content) - 1)] = rng.randrange(256)
        elif action == 1:
            del content[position : position + rng.randint(1, 40)]
        elif action in (2, 3):
            content[position:position] = rng.choice(TOKENS)
        elif action == 4:  # duplicate a line: duplicate keys, repeated objects
            start = content.rfind(b"\n", 0, position) + 1
            end = content.find(b"\n", position)
            content[start:start] = content[start : end + 1 if end >= 0 else len(content)]
        elif action == 5:  # shift a line's indentation: structure changes, not just tokens
            start = content.rfind(b"\n", 0, position) + 1
            if rng.random() < 0.5:
                content[start:start] = b"  "
            elif content[start : start + 2] == b"  ":
                del content[start : start + 2]
        elif action == 6 and others:  # splice part of another seed in
            other = rng.choice(others)
            cut = rng.randrange(len(other) + 1)
            content[position:] = other[cut:]
        elif action == 7:  # swap a scalar after a colon for a hostile one
            colon = content.find(b": ", position)
            if colon >= 0:
                end = content.find(b"\n", colon)
                end = len(content) if end < 0 else end
                content[colon + 2 : end] = rng.choice(TOKENS).strip() or b"x"
    return bytes(content)


@dataclass
class Crash:
    stage: str
    detail: str
    data: bytes


@dataclass
class Summary:
    inputs: int = 0
    full_runs: int = 0
    documents: int = 0
    findings: int = 0
    clean: int = 0
    load_problems: int = 0
    crashes: list[Crash] = field(default_factory=list)
    seconds: float = 0.0


class Harness:
    """One configuration, rule set and scratch repository, reused for every input."""

    def __init__(self, scratch: Path) -> None:
        from gitops_kit.config import load_config

        self.scratch = scratch
        (scratch / ".git").mkdir(exist_ok=True)
        self.config = load_config(scratch)
        self.target = scratch / "input.yaml"
        self._parts: tuple | None = None

    def _engine(self):
        # the same assembly as engine.validate(), minus discovery, rendering and locating; the rule
        # set and context are built once (as in one validate() run), the engine's state per input
        from gitops_kit.engine import Engine, RuleSet, _rule_options
        from gitops_kit.rulebase import Context
        from gitops_kit.schemas import service_from_config

        if self._parts is None:
            ruleset = RuleSet.build(self.config)
            context = Context(
                root=str(self.config.root),
                targets=dict(self.config.targets),
                options=_rule_options(self.config, ruleset),
                services={"schemas": service_from_config(self.config), "fleet": self.config.section("fleet")},
            )
            self._parts = (ruleset, context)
        return Engine(self.config, *self._parts)

    def in_memory(self, data: bytes) -> tuple[int, int, list[str]]:
        """Loader + engine rules on one input; (documents, violations or problems, crash messages)."""
        from gitops_kit.loader import decode, load_text

        text, problem = decode(data)
        if problem is not None:
            return 0, 1, []
        docs, problems = load_text(text, str(self.target), "input.yaml")
        engine = self._engine()
        engine.check_documents(docs)
        engine.finish()
        crashed = [f"{rule.id}: {v.message}" for rule, v in engine.violations if v.message.startswith("internal error")]
        crashed += [note for note in engine.notes if "crashed" in note]
        return len(docs), len(problems) + len(engine.violations), crashed

    def full(self, data: bytes) -> tuple[int, list[str]]:
        """The public pipeline and every output format on one input file; (findings, problems)."""
        from gitops_kit import report as formats
        from gitops_kit.engine import validate

        self.target.write_bytes(data)
        result = validate([self.target], self.config)
        failures = [f"{f.rule_id}: {f.message}" for f in result.findings if f.message.startswith("internal error")]
        failures += [note for note in result.notifications if "crashed" in note]
        failures += [f"{f.rule_id} at line {f.line}: not located in input.yaml" for f in result.findings
                     if f.file != "input.yaml" or f.line < 0]
        options = formats.RenderOptions(tool_version="fuzz")
        for name in formats.names():
            output = formats.get(name).render(result, options)
            output.encode("utf-8")  # what the CLI writes: lone surrogates would raise here
            if name in ("json", "sarif", "gitlab"):
                json.loads(output)
            elif name == "junit":
                ET.fromstring(output.encode("utf-8"))
        return len(result.findings), failures


def campaign(inputs: int, seed: int, full_every: int = 10, scratch: Path | None = None) -> Summary:
    """Run `inputs` mutated inputs; the first crash per stage and message is recorded."""
    rng = random.Random(seed)
    seeds = [path.read_bytes() for path in seed_files()]
    summary = Summary()
    started = time.perf_counter()
    seen: set[tuple[str, str]] = set()
    with tempfile.TemporaryDirectory(prefix="gitops-kit-fuzz-") as tmp:
        harness = Harness(scratch or Path(tmp))
        for number in range(inputs):
            data = mutate(rng, rng.choice(seeds), seeds)
            for stage, call in (("engine", harness.in_memory), ("pipeline", harness.full)):
                if stage == "pipeline" and number % full_every:
                    continue
                try:
                    if stage == "engine":
                        documents, found, failures = call(data)
                        summary.documents += documents
                        summary.findings += found
                        summary.clean += found == 0
                    else:
                        _found, failures = call(data)
                        summary.full_runs += 1
                except Exception:  # noqa: BLE001 - recording crashes is the point
                    failures = [traceback.format_exc(limit=-3)]
                for failure in failures:
                    key = (stage, failure.splitlines()[-1][:120] if failure else "")
                    if key not in seen:
                        seen.add(key)
                        summary.crashes.append(Crash(stage, failure, data))
            summary.inputs += 1
    summary.seconds = time.perf_counter() - started
    return summary


def save_crashes(summary: Summary, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for number, crash in enumerate(summary.crashes):
        path = directory / f"crash-{number:03d}-{crash.stage}.yaml"
        path.write_bytes(crash.data)
        path.with_suffix(".txt").write_text(crash.detail, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=20_000, help="mutated inputs to run (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed replays the same inputs")
    parser.add_argument("--full-every", type=int, default=10, help="run the whole pipeline + reporters on every Nth input")
    parser.add_argument("--crash-dir", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs are saved")
    args = parser.parse_args(argv)
    summary = campaign(args.inputs, args.seed, max(1, args.full_every))
    print(
        f"fuzz: {summary.inputs} inputs (seed {args.seed}) in {summary.seconds:.1f}s: "
        f"{summary.documents} documents, {summary.findings} findings/problems, {summary.clean} clean inputs, "
        f"{summary.full_runs} full pipeline + reporter runs, {len(summary.crashes)} crash(es)"
    )
    if summary.crashes:
        for path, crash in zip(save_crashes(summary, args.crash_dir), summary.crashes):
            print(f"crash in {crash.stage}: {crash.detail.strip().splitlines()[-1]}\n  input saved to {path}")
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
