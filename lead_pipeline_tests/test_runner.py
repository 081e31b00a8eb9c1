from lead_pipeline.runner import day_ranges


def test_day_ranges_split_at_gaps_and_at_the_run_size_limit():
    days = dict.fromkeys(["2026-11-05", "2026-11-02", "2026-11-03", "2026-11-09", "2026-11-10", "2026-11-11"], 1)
    assert list(day_ranges(days, max_days=2)) == [
        ("2026-11-02", "2026-11-03"), ("2026-11-05", "2026-11-05"), ("2026-11-09", "2026-11-10"),
        ("2026-11-11", "2026-11-11"),
    ]
    assert list(day_ranges({})) == []


def test_day_ranges_hold_at_most_the_run_message_limit_unless_one_day_is_larger():
    days = {"2026-11-01": 30, "2026-11-02": 50, "2026-11-03": 150, "2026-11-04": 10, "2026-11-05": 0,
            "2026-11-06": 90}
    assert list(day_ranges(days, max_messages=100)) == [
        ("2026-11-01", "2026-11-02"), ("2026-11-03", "2026-11-03"), ("2026-11-04", "2026-11-06"),
    ]
