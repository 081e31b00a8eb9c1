import pytest

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
