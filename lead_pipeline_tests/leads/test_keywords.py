import re

import pytest

from lead_pipeline.leads.keywords import Caseless

PATTERN = r"\b(?:demos?\b|walk ?through|pr\u00e4sentation)|\u30c7\u30e2|[^\w]+q[1-4]\b"
TEXTS = ["Can we book a DEMO?", "Demos, Walkthrough", "WALK THROUGH", "Präsentation", "PRÄSENTATION", "デモ", "demolition",
         "in Q3", "by q5", "demo İ", "ſ demo", "no match here", ""]


@pytest.mark.parametrize("text", TEXTS)
def test_caseless_matches_where_ignorecase_matches(text):
    caseless, ignorecase = Caseless(PATTERN), re.compile(PATTERN, re.IGNORECASE)
    assert caseless.found_in(text) == bool(ignorecase.search(text))
    assert caseless.count_in(text) == len(ignorecase.findall(text))
    assert caseless.starts_in(text) == [match.start() for match in ignorecase.finditer(text)]


@pytest.mark.parametrize("pattern", [r"Demo", r"\W+", r"\u017ftop", "\u212aelvin", r"\u0131"])
def test_caseless_refuses_what_lower_casing_would_change(pattern):
    with pytest.raises(ValueError):
        Caseless(pattern)
