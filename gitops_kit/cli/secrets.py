"""`gitops-kit secrets encrypt|decrypt|updatekeys|new|keygen|verify`: SOPS-encrypted Secrets.

Plaintext only travels through pipes to sops and to stdout of `decrypt`; nothing here writes it to a file.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("secrets", help="encrypt, decrypt, create and verify SOPS-encrypted Secrets")
    commands = parser.add_subparsers(dest="secrets_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])

    encrypt = commands.add_parser("encrypt", help="encrypt a file in place with the repository's .sops.yaml")
    encrypt.add_argument("file", type=Path)
    encrypt.add_argument("--config", type=Path, help=".sops.yaml to use (default: the nearest one above the file)")
    encrypt.set_defaults(func=run_encrypt)

    decrypt = commands.add_parser("decrypt", help="decrypt a file to stdout (never to a file)")
    decrypt.add_argument("file", type=Path)
    decrypt.add_argument("--age-key-file", type=Path, help="age identity file (default: SOPS_AGE_KEY_FILE / SOPS_AGE_KEY)")
    decrypt.set_defaults(func=run_decrypt)

    update = commands.add_parser("updatekeys", help="re-wrap data keys for the recipients .sops.yaml now lists")
    update.add_argument("paths", nargs="+", type=Path)
    update.add_argument("--config", type=Path)
    update.add_argument("--age-key-file", type=Path)
    update.set_defaults(func=run_updatekeys)

    new = commands.add_parser("new", help="create an encrypted Secret; plaintext goes to sops via stdin only")
    new.add_argument("name")
    new.add_argument("-n", "--namespace", required=True)
    new.add_argument("--from-literal", action="append", default=[], metavar="KEY=VALUE",
                     help="a value (visible in the process list; prefer --from-env-file for real secrets)")
    new.add_argument("--from-env-file", action="append", default=[], type=Path, metavar="FILE")
    new.add_argument("-o", "--output", type=Path, help="where to write the encrypted Secret (default: NAME.sops.yaml)")
    new.add_argument("--config", type=Path)
    new.set_defaults(func=run_new)

    keygen = commands.add_parser("keygen", help="create a cluster's age identity and its .sops.yaml creation rule")
    keygen.add_argument("--cluster", required=True)
    keygen.add_argument("--output", type=Path, help="identity file, outside the repository (default: ~/.config/gitops-kit/age/CLUSTER.agekey)")
    keygen.add_argument("--config", type=Path, help=".sops.yaml to add the cluster's rule to (default: ./.sops.yaml if present)")
    keygen.add_argument("--admin", action="append", default=[], metavar="AGE_RECIPIENT", help="admin recipient added to the rule")
    keygen.add_argument("--path-regex", help="default: ^clusters/CLUSTER/")
    keygen.set_defaults(func=run_keygen)

    verify = commands.add_parser("verify", help="check every value's GCM tag and the MAC offline with an age or PGP key (exit 1 problems, 3 unverifiable)")
    verify.add_argument("paths", nargs="*", type=Path, default=[Path(".")])
    verify.add_argument("--age-key-file", type=Path)
    verify.add_argument("--pgp-key-file", type=Path, action="append", default=[], metavar="FILE",
                        help="armored PGP private key, imported into a throwaway keyring (default: your GnuPG keyring)")
    verify.set_defaults(func=run_verify)


def _nearest_config(start: Path, explicit: Path | None) -> Path:
    from ..errors import UserError

    if explicit is not None:
        if not explicit.is_file():
            raise UserError(f"{explicit}: no such .sops.yaml")
        return explicit
    for directory in [start.resolve().parent, *start.resolve().parent.parents]:
        candidate = directory / ".sops.yaml"
        if candidate.is_file():
            return candidate
    raise UserError(f"{start}: no .sops.yaml in this directory or above; create one with `gitops-kit secrets keygen --cluster NAME --config .sops.yaml`")


def run_encrypt(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..fileio import atomic_write_bytes
    from ..secrets.sops import encrypt_bytes, input_type_for

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    config = _nearest_config(args.file, args.config)
    ciphertext = encrypt_bytes(args.file.read_bytes(), file_path=args.file, config_path=config, input_type=input_type_for(args.file))
    atomic_write_bytes(args.file, ciphertext, mode=args.file.stat().st_mode & 0o777)
    print(f"encrypted {args.file} (rules from {config})")
    return 0


def run_decrypt(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..secrets.sops import decrypt_bytes, input_type_for

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    plain = decrypt_bytes(args.file.read_bytes(), file_path=args.file, input_type=input_type_for(args.file), age_key_file=args.age_key_file)
    sys.stdout.buffer.write(plain)
    sys.stdout.flush()
    return 0


def run_updatekeys(args: argparse.Namespace) -> int:
    from ..secrets.sops import updatekeys

    for file in _encrypted_files(args.paths):
        changed = updatekeys(file, config_path=_nearest_config(file, args.config), age_key_file=args.age_key_file)
        print(f"{file}: {'recipients updated' if changed else 'already up to date'}")
    return 0


def _env_file_items(path: Path) -> list[tuple[str, str]]:
    from ..errors import UserError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{path}:{number}: expected KEY=VALUE")  # never echo the line: it may hold a secret
        items.append((key.strip(), value))
    return items


def run_new(args: argparse.Namespace) -> int:
    import io

    from ruamel.yaml import YAML

    from ..errors import UserError
    from ..fileio import atomic_write_bytes
    from ..secrets.sops import encrypt_bytes

    for label, value, pattern, limit in (("name", args.name, _DNS_SUBDOMAIN, 253), ("namespace", args.namespace, _DNS_LABEL, 63)):
        if not pattern.match(value) or len(value) > limit:
            raise UserError(f"{label} {value!r} is not a valid Kubernetes name (lowercase letters, digits, '-')")
    items: list[tuple[str, str]] = []
    for literal in args.from_literal:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise UserError(f"--from-literal needs KEY=VALUE (got a value without '=' for key {key[:20]!r})")
        items.append((key, value))
    for env_file in args.from_env_file:
        items.extend(_env_file_items(env_file))
    if not items:
        raise UserError("give at least one --from-literal KEY=VALUE or --from-env-file FILE")
    keys = [key for key, _ in items]
    invalid = sorted(key for key in keys if not _SECRET_KEY.match(key))
    if invalid:
        raise UserError(f"invalid Secret key(s) {', '.join(invalid)}: use letters, digits, '-', '_' and '.'")
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise UserError(f"key(s) given twice: {', '.join(duplicates)}")
    output = args.output or Path(f"{args.name}.sops.yaml")
    if output.exists():
        raise UserError(f"{output}: already exists; refusing to overwrite (remove it or choose --output)")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": args.name, "namespace": args.namespace},
        "type": "Opaque",
        "stringData": dict(items),
    }
    buffer = io.StringIO()
    YAML(typ="safe", pure=True).dump(secret, buffer)
    config = _nearest_config(output, args.config)
    ciphertext = encrypt_bytes(buffer.getvalue().encode("utf-8"), file_path=output, config_path=config)
    atomic_write_bytes(output, ciphertext, mode=0o644)
    print(f"wrote encrypted Secret {args.namespace}/{args.name} to {output}")
    return 0


def _inside_git_repository(path: Path) -> Path | None:
    for directory in [path.resolve().parent, *path.resolve().parent.parents]:
        if (directory / ".git").exists():
            return directory
    return None


def run_keygen(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..secrets.keys import generate_identity, write_identity
    from ..secrets.sops_config import ensure_creation_rule

    if not _DNS_LABEL.match(args.cluster):
        raise UserError(f"cluster name {args.cluster!r} must be lowercase letters, digits and '-'")
    for admin in args.admin:
        if not admin.startswith("age1"):
            raise UserError(f"--admin {admin[:20]!r} is not an age recipient (age1…)")
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    output = args.output or config_home / "gitops-kit" / "age" / f"{args.cluster}.agekey"
    repository = _inside_git_repository(output)
    if repository is not None:
        raise UserError(f"{output}: inside the git repository {repository}; a private key must never be committed — choose --output outside it")
    config = args.config or (Path(".sops.yaml") if Path(".sops.yaml").exists() else None)
    identity, recipient = generate_identity()
    write_identity(output, identity, recipient)
    print(f"age identity for {args.cluster} written to {output} (mode 0600)")
    if config is not None:
        path_regex = args.path_regex or f"^clusters/{args.cluster}/"
        changed = ensure_creation_rule(config, path_regex, [recipient, *args.admin])
        print(f"{config}: {'added/updated' if changed else 'unchanged'} creation rule {path_regex}")
    print(recipient)
    return 0


def _encrypted_files(paths: list[Path]) -> list[Path]:
    """Files with a top-level sops block: given files as they are, directories searched for YAML/JSON."""
    from ..errors import UserError

    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for candidate in sorted(path.rglob("*")):
                if ".git" in candidate.parts or not candidate.is_file() or candidate.name == ".sops.yaml":
                    continue
                if candidate.suffix.lower() in (".yaml", ".yml", ".json") and _has_sops_block(candidate):
                    found.append(candidate)
        else:
            raise UserError(f"{path}: no such file or directory")
    return found


def _has_sops_block(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return False
    return bool(re.search(rb'(?m)^sops:|"sops":\s*\{', head))


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0: every file verified; 1: a file failed (tampering, a key that does not fit); 3: nothing failed
    but some files could not be checked offline (KMS/Vault, Shamir, post-quantum age, no PGP key or gpg)."""
    from ..errors import UserError
    from ..secrets.pgp import PgpKeyring
    from ..secrets.verify import UNVERIFIED, load_identities, verify_file

    identities = load_identities(args.age_key_file)
    gnupg_home = os.environ.get("GNUPGHOME") or os.path.expanduser("~/.gnupg")
    if not identities and not args.pgp_key_file and not os.path.isdir(gnupg_home):
        raise UserError("no key: pass --age-key-file (or set SOPS_AGE_KEY_FILE / SOPS_AGE_KEY) or --pgp-key-file")
    files = _encrypted_files(args.paths)
    with PgpKeyring(list(args.pgp_key_file)) as pgp:
        problems = [problem for file in files for problem in verify_file(file, identities, pgp=pgp)]
    for problem in problems:
        print(problem)
    unverified = {p.path for p in problems if p.code == UNVERIFIED}
    failed = {p.path for p in problems if p.code != UNVERIFIED}
    print(
        f"{len(files)} encrypted file(s): {len(files) - len(failed) - len(unverified)} verified, "
        f"{len(failed)} with problems, {len(unverified)} not verifiable offline",
        file=sys.stderr,
    )
    return 1 if failed else 3 if unverified else 0
