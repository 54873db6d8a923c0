"""oauth2-refresh-injection: the annotation parser on its own."""

from __future__ import annotations

import pytest

from gitops_kit.rules.oauth2_refresh_injection import Injection, parse_annotation


def test_valid_list_with_template():
    text = '[{"secretName": "t", "container": "c", "owner": 1000, "templateConfigMapName": "tpl"}]'
    assert parse_annotation(text) == ((Injection("t", "c", "tpl", 0),), ())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"secretName": "t"}', "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ('["t"]', "entry 0 is not an object"),
        ('[{"secretName": "t", "container": "c", "owner": true}]', "owner must be"),
        ('[{"secretName": "t", "container": "c", "owner": -1}]', "owner must be"),
        ('[{"secretName": "t", "container": "", "owner": 0}]', "container must be"),
        ('[{"secretName": "t", "container": "c", "owner": 0, "templateConfigMapName": 3}]', "templateConfigMapName"),
        (None, "must be a string"),
    ],
)
def test_shape_problems(text, fragment):
    injections, problems = parse_annotation(text)
    assert injections == ()
    assert len(problems) == 1 and fragment in problems[0]
