import pytest

from lead_pipeline.leads import quantities
from lead_pipeline.leads.quantities import Budget, find_budget, find_team_size, find_timeline


@pytest.mark.parametrize(("text", "budget"), [
    ("Our budget is $50k for the first year.", Budget(50_000, "USD")),
    ("Preis: 20.000 € pro Jahr wäre ok", Budget(20_000, "EUR")),
    ("somewhere between £10,000 and £15,000", Budget(15_000, "GBP")),
    ("we have a budget of 1.2M SEK", Budget(1_200_000, "SEK")),
    ("rund 1,5 Mio EUR", Budget(1_500_000, "EUR")),
    ("USD 120,000 annually", Budget(120_000, "USD")),
    ("€10k - 15k", Budget(15_000, "EUR")),
    ("予算は300万円です", Budget(3_000_000, "JPY")),
    ("we spent $2k on tools; our budget for this is $40k", Budget(40_000, "USD")),
    ("call me at 415 555 0134", None),
    ("we have 40 engineers", None),
])
def test_find_budget(text, budget):
    assert find_budget(text) == budget


@pytest.mark.parametrize(("text", "timeline"), [
    ("We need this ASAP please", "asap"),
    ("Nous souhaitons démarrer dès que possible", "asap"),
    ("ideally within 2 weeks", "this_month"),
    ("we plan to buy this quarter", "this_quarter"),
    ("budget opens next quarter", "next_quarter"),
    ("we must decide by end of January", "date"),
    ("go-live planned for 2026-09-01", "date"),  # no month named: the all-digit forms
    ("導入は4月を予定しています", "date"),
    ("ticket 2026-0901-12, 3 seats", None),
    ("Go-live by mid-MÄRZ please", "date"),
    ("our marketing setup for 2026 is done", None),  # "mar", "set" inside words name no month
    ("no rush at all", None),
])
def test_find_timeline(text, timeline):
    assert find_timeline(text) == timeline


@pytest.mark.parametrize(("text", "size"), [
    ("a team of 40 engineers", 40),
    ("we are ~250 employees", 250),
    ("we need 200 seats", 200),
    ("a 50-person team", 50),
    ("rund 120 Mitarbeiter", 120),
    ("founded in 2015, 3 offices", None),
])
def test_find_team_size(text, size):
    assert find_team_size(text) == size


def _words_of(pattern: str) -> set[str]:
    """Every string a pattern of literals, groups, alternatives and `?` matches."""
    from re import _constants as c, _parser

    def expand(items) -> set[str]:
        words = {""}
        for op, arg in items:
            if op is c.LITERAL:
                options = {chr(arg)}
            elif op is c.SUBPATTERN:
                options = expand(arg[-1])
            elif op is c.BRANCH:
                options = set().union(*(expand(branch) for branch in arg[1]))
            elif op is c.IN:  # [óo] and the like
                assert all(kind is c.LITERAL for kind, _ in arg)
                options = {chr(code) for _, code in arg}
            elif op is c.MAX_REPEAT and arg[:2] == (0, 1):
                options = {""} | expand(arg[2])
            else:
                raise AssertionError(f"unexpected {op}")
            words = {w + o for w in words for o in options}
        return words

    return expand(_parser.parse(pattern))


def test_month_words_are_the_words_the_date_pattern_knows():
    assert quantities._MONTH_WORDS == _words_of(quantities._MONTHS)
