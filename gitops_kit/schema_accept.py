"""Accept documents that certainly satisfy a schema, in pure Python, without loading jsonschema_rs.

A pre-commit run validates a handful of objects; loading and initialising the jsonschema_rs
extension (with the `datetime` and `decimal` modules it imports) and compiling a Deployment's
schema cost more than checking those objects here. So `schemas.Validator` asks `accepts` first
for its first few documents and compiles the jsonschema_rs validator only when a document is
not accepted (jsonschema_rs then produces the messages) or when the run turns out to be large.

`accepts` is one-sided by construction: it answers True only when every keyword on the way is
one it fully understands and is satisfied; anything else (an unknown keyword, a value it is not
sure how JSON Schema compares, a failed check) answers False, which only means "ask jsonschema_rs".
tests/schemas/test_schema_accept.py checks it against jsonschema_rs on real and mutated manifests.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: annotations: JSON Schema validators ignore them (formats are not checked: schemas.py)
_ANNOTATIONS = frozenset(
    {"description", "title", "default", "format", "$schema", "$id", "$comment", "examples", "example", "deprecated",
     "readOnly", "writeOnly", "$defs", "definitions", "nullable"}
)
_MAX_DEPTH = 64
_NULL = type(None)
#: Python types whose JSON type is certain from the type alone (numbers need a look at the value)
_PLAIN_TYPES = {dict: "object", str: "string", list: "array", bool: "boolean", _NULL: "null"}


def accepts(schema: Any, instance: Any) -> bool:
    """True when `instance` certainly satisfies `schema` (a draft 2020-12 schema with local `$ref`s)."""
    try:
        return _satisfies(schema, instance, schema, 0)
    except RecursionError:
        return False


def _satisfies(node: Any, value: Any, root: Any, depth: int) -> bool:
    if node is True:
        return True
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return False
    for keyword, expected in node.items():
        if keyword == "type":
            if not _has_type(value, expected):
                return False
        elif keyword == "properties":
            if isinstance(value, dict):
                for name, subschema in expected.items():
                    if name in value and not _satisfies(subschema, value[name], root, depth + 1):
                        return False
        elif keyword == "required":
            if isinstance(value, dict) and not all(name in value for name in expected):
                return False
        elif keyword == "additionalProperties":
            if isinstance(value, dict) and not _extra_properties_ok(node, expected, value, root, depth):
                return False
        elif keyword == "items":
            if isinstance(value, list):
                if not isinstance(expected, dict) and expected is not True:
                    return False  # an array of schemas (older drafts) or `false`: not handled here
                for item in value:
                    if not _satisfies(expected, item, root, depth + 1):
                        return False
        elif keyword == "enum":
            # strings only: JSON Schema's equality of numbers and booleans differs from Python's (1 == True)
            if not isinstance(value, str) or value not in [item for item in expected if isinstance(item, str)]:
                return False
        elif keyword == "$ref":
            target = _resolve(root, expected)
            if target is None or not _satisfies(target, value, root, depth + 1):
                return False
        elif keyword == "oneOf":
            if not _exactly_one(expected, value, root, depth):
                return False
        elif keyword in _ANNOTATIONS or keyword.startswith("x-"):
            continue
        else:
            return False  # a keyword this module does not implement: jsonschema_rs decides
    return True


def _has_type(value: Any, expected: Any) -> bool:
    names = _type_names(expected)
    if names is None:
        return False
    kind = type(value)
    plain = _PLAIN_TYPES.get(kind)
    if plain is not None:
        return plain in names and (plain != "object" or all(type(key) is str for key in value))
    if kind is int:
        # 2**63 and beyond do not fit jsonschema_rs's numbers
        return ("integer" in names or "number" in names) and -(2**63) <= value < 2**63
    if kind is float:
        # 1.0 is an integer in JSON Schema; NaN and infinities are no JSON numbers at all
        finite = value - value == 0
        return finite and ("number" in names or ("integer" in names and value.is_integer() and abs(value) < 2**53))
    return False


def _type_names(expected: Any) -> list[str] | tuple[str, ...] | None:
    """A `type` keyword's names (a string or a list of them); None when it is neither."""
    names = (expected,) if isinstance(expected, str) else expected
    return names if isinstance(names, (list, tuple)) else None


def _extra_properties_ok(node: dict[str, Any], expected: Any, value: dict[str, Any], root: Any, depth: int) -> bool:
    if "patternProperties" in node:
        return False
    declared = node.get("properties", {})
    extra = [name for name in value if name not in declared]
    if expected is True or not extra:
        return True
    if expected is False:
        return False
    return all(_satisfies(expected, value[name], root, depth + 1) for name in extra)


def _resolve(root: Any, reference: Any) -> Any:
    """`#/$defs/<name>` inside the root schema (the only form the bundled schemas use)."""
    if not isinstance(reference, str) or not reference.startswith("#/$defs/"):
        return None
    name = reference[len("#/$defs/") :]
    if "/" in name or "~" in name or "%" in name:
        return None
    definitions = root.get("$defs") if isinstance(root, dict) else None
    return definitions.get(name) if isinstance(definitions, dict) else None


def _exactly_one(options: Any, value: Any, root: Any, depth: int) -> bool:
    """Certain only when one option accepts and every other certainly rejects: options that only
    constrain the type (Kubernetes' int-or-string) can be rejected with certainty."""
    if not isinstance(options, list):
        return False
    accepted = 0
    for option in options:
        if _satisfies(option, value, root, depth + 1):
            accepted += 1
        elif not _certainly_rejects(option, value):
            return False
    return accepted == 1


def _certainly_rejects(option: Any, value: Any) -> bool:
    if not isinstance(option, dict) or "type" not in option:
        return False
    if any(key != "type" and key not in _ANNOTATIONS and not key.startswith("x-") for key in option):
        return False
    names = _type_names(option["type"])
    if names is None:
        return False
    # rejected with certainty when the value's JSON type is plainly none of the listed ones
    kind = type(value)
    plain = _PLAIN_TYPES.get(kind)
    if plain is not None:
        return plain not in names
    if kind is int or kind is float:
        return "integer" not in names and "number" not in names
    return False
