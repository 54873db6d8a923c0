"""secrets/static.py answers the common case quickly (one regex for a well-formed ENC value, a pruned walk
for the file's selection rule); these properties pin it to the plain definitions in sopsfile.py."""

from __future__ import annotations

import base64
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_kit.secrets.sopsfile import EncValue, SopsFileError, parse_enc, selection_rule, should_be_encrypted
from gitops_kit.secrets.static import is_encrypted_file_name, unencrypted_leaves, well_formed


def _enc(data: bytes, iv_len: int = 32, tag_len: int = 16, kind: str = "str") -> str:
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"ENC[AES256_GCM,data:{b64(data)},iv:{b64(bytes(iv_len))},tag:{b64(bytes(tag_len))},type:{kind}]"


GOOD = _enc(b"hunter2")

# mutations of a good value: every one must be judged as parse_enc judges it
_EDITS = st.one_of(
    st.builds(lambda i, c: GOOD[:i] + c + GOOD[i:], st.integers(0, len(GOOD)), st.sampled_from(list(",:=[]/+A\n "))),
    st.builds(lambda i: GOOD[:i] + GOOD[i + 1 :], st.integers(0, len(GOOD) - 1)),
    st.builds(
        _enc,
        st.binary(max_size=40),
        st.sampled_from([0, 16, 31, 32, 33]),
        st.sampled_from([0, 15, 16, 17]),
        st.sampled_from(["str", "int", "bytes", "comment", "nope", ""]),
    ),
    st.text(max_size=60),
)


@given(_EDITS)
@settings(max_examples=600, deadline=None)
def test_well_formed_values_are_values_parse_enc_accepts(value):
    if well_formed(value):
        assert isinstance(parse_enc(value), EncValue)


def test_values_as_sops_writes_them_are_well_formed():
    assert well_formed(GOOD)
    assert well_formed(_enc(b"x" * 33, kind="bytes"))
    assert not well_formed(GOOD + " ")
    assert not well_formed(_enc(b"", kind="str"))  # parse_enc needs data: it is not the fast path's call


def _reference(data, meta):
    """The definition: every leaf (sops block left out) that the file's rule selects and that is not a
    well-formed ENC value, in document order (what unencrypted_leaves did before it was pruned)."""
    try:
        rule = selection_rule(meta)
    except SopsFileError as error:
        return [(("sops",), str(error))]
    found = []

    def leaves(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, path + (str(key),))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                yield from leaves(item, path + (index,))
        else:
            yield path, node

    for path, value in leaves({k: v for k, v in data.items() if k != "sops"}, ()):
        if value is None or value == "":
            continue
        try:
            selected = should_be_encrypted(tuple(p for p in path if isinstance(p, str)), rule)
        except re.error:
            return found + [(("sops",), f"the file's {rule[0]} is not a valid regular expression")]
        if not selected:
            continue
        if not isinstance(value, str):
            found.append((path, "value is plaintext but the file's sops rule says it must be encrypted"))
            continue
        problem = parse_enc(value)
        if isinstance(problem, str):
            reason = "plaintext" if not value.startswith("ENC[") else problem
            found.append((path, f"value is {reason} but the file's sops rule says it must be encrypted"))
    return found


_KEYS = st.sampled_from(["data", "stringData", "password", "pass_unencrypted", "metadata", "name", "spec", "x_enc", 7])
_LEAVES = st.one_of(st.none(), st.just(""), st.just(GOOD), st.just("ENC[AES256_GCM,data:@@]"), st.text(max_size=5), st.integers(), st.booleans())
_TREES = st.recursive(_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4)), max_leaves=12)
_RULES = st.one_of(
    st.just({}),
    st.fixed_dictionaries({"encrypted_regex": st.sampled_from(["^(data|stringData)$", "pass", "^$", "(", "a|"])}),
    st.fixed_dictionaries({"unencrypted_regex": st.sampled_from(["^metadata$", "name", "[", "x"])}),
    st.fixed_dictionaries({"encrypted_suffix": st.sampled_from(["_enc", "Data", ""])}),
    st.fixed_dictionaries({"unencrypted_suffix": st.sampled_from(["_unencrypted", "name"])}),
    st.fixed_dictionaries({"unencrypted_comment_regex": st.just("^sops:")}),
    st.fixed_dictionaries({"encrypted_comment_regex": st.just("^sops:")}),
    st.fixed_dictionaries({"encrypted_regex": st.just("data"), "unencrypted_suffix": st.just("_x")}),
)


@given(st.dictionaries(_KEYS.filter(lambda k: isinstance(k, str)), _TREES, max_size=5), _RULES)
@settings(max_examples=800, deadline=None)
def test_pruned_walk_reports_what_the_definition_reports(data, meta):
    assert list(unencrypted_leaves(data, meta)) == _reference(data, meta)


def test_encrypted_file_names():
    assert is_encrypted_file_name("clusters/prod/db.sops.yaml")
    assert is_encrypted_file_name("db.enc.yml")
    assert not is_encrypted_file_name(".sops.yaml")  # the sops configuration
    assert not is_encrypted_file_name("clusters/db.yaml")
    assert not is_encrypted_file_name("db.sops.yaml.bak")


def test_selection_fields_are_sops_config_s():
    from gitops_kit.secrets import static
    from gitops_kit.secrets.sops_config import SELECTION_FIELDS

    assert static._SELECTION_FIELDS == SELECTION_FIELDS


@given(st.dictionaries(st.sampled_from(["encrypted_regex", "unencrypted_suffix", "encrypted_comment_regex", "mac", "age"]),
                       st.sampled_from([None, "", "x", 0, 1, ["a"]]), max_size=4))
def test_selection_is_selection_rule(meta):
    from gitops_kit.secrets.static import selection

    try:
        expected = selection_rule(meta)
    except SopsFileError:
        expected = None
    assert selection(meta) == expected


_ENTRY = st.one_of(st.none(), st.just("x"), st.fixed_dictionaries({"recipient": st.sampled_from(["age1a", "age1b", "", None, 7])}))
_ENTRIES = st.one_of(st.none(), st.just("age1scalar"), st.lists(_ENTRY, max_size=3))


@given(st.fixed_dictionaries({}, optional={"age": _ENTRIES, "key_groups": st.one_of(
    st.just("scalar"), st.lists(st.one_of(st.none(), st.fixed_dictionaries({}, optional={"age": _ENTRIES})), max_size=3))}))
def test_age_recipients_are_sopsfile_s(meta):
    from gitops_kit.secrets import sopsfile, static

    assert static.age_recipients(meta) == sopsfile.age_recipients(meta)
