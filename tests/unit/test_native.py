"""_native loads the parsers' extensions without their packages' wrappers, and falls back to the ordinary import."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_extensions_load_without_their_wrappers_and_work():
    out = _run(
        "import sys\n"
        "from gitops_kit import _native\n"
        "assert _native.yaml_loads('a: 1\\n---\\nb: [2]\\n') == [{'a': 1}, {'b': [2]}]\n"
        "try:\n"
        "    _native.yaml_loads('a: 1\\na: 2\\n')\n"
        "except _native.yaml_error() as err:\n"
        "    assert 'duplicate' in str(err)\n"
        "else:\n"
        "    raise AssertionError('a repeated key must be an error')\n"
        "validator = _native.jsonschema_rs().validator_for({'type': 'object', 'required': ['a']}, validate_formats=False)\n"
        "assert validator.is_valid({'a': 1}) and not validator.is_valid({})\n"
        "print(sorted(m for m in ('yaml_rs', 'jsonschema_rs', 'typing', 'pathlib', 'email.utils') if m in sys.modules))\n"
    )
    assert out == "[]"


def test_a_later_ordinary_import_shares_the_loaded_extension():
    out = _run(
        "from gitops_kit import _native\n"
        "extension = _native.yaml_rs()\n"
        "import sys, yaml_rs\n"
        "print(sys.modules['yaml_rs._yaml_rs'] is extension, yaml_rs.loads('a: 1') == {'a': 1})\n"
        "import email.utils\n"
        "print(hasattr(email.utils, 'formatdate'))\n"  # the real module, not the build-date stand-in
    )
    assert out.split() == ["True", "True", "True"]


def test_the_ordinary_import_serves_when_the_extension_cannot_be_loaded_alone():
    out = _run(
        "from gitops_kit import _native\n"
        "print(_native._extension('yaml_rs', '_yaml_rs', ('no_such_function',)))\n"  # an unexpected layout
        "import sys, yaml_rs\n"  # the ordinary import, as the fallback does it
        "print(_native.yaml_rs() is sys.modules['yaml_rs._yaml_rs'], _native.yaml_loads('a: [1]') == {'a': [1]})\n"
    )
    assert out.splitlines() == ["None", "True True"]
