from lead_pipeline.runner import day_ranges


def test_day_ranges_split_at_gaps_and_at_the_run_size_limit():
    days = ["2026-11-05", "2026-11-02", "2026-11-03", "2026-11-03", "2026-11-09", "2026-11-10", "2026-11-11"]
    assert list(day_ranges(days, max_days=2)) == [
        ("2026-11-02", "2026-11-03"), ("2026-11-05", "2026-11-05"), ("2026-11-09", "2026-11-10"),
        ("2026-11-11", "2026-11-11"),
    ]
    assert list(day_ranges([])) == []
