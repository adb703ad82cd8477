"""The report charts' bars and the partner report's arithmetic, without a store."""

from __future__ import annotations

import json

import pytest

from edi.cli.charts import daily_chart, partners_chart
from edi.cli.terminal import MIN_BAR, chart_lines
from edi.query.partners import percentile, set_reasons

DAILY = [
    {"day": "2025-01-02", "partner": "b", "sets_accepted": 1, "sets_rejected": 1},
    {"day": "2025-01-01", "partner": "a", "sets_accepted": 3, "sets_rejected": 0},
    {"day": "2025-01-01", "partner": "b", "sets_accepted": 3, "sets_rejected": 2},
]


def test_daily_chart_sums_partners_and_kinds_per_day():
    chart = daily_chart(DAILY)
    assert chart.labels == ("2025-01-01", "2025-01-02")
    assert [s.values for s in chart.series] == [(6.0, 1.0), (2.0, 1.0)]
    assert chart.notes == ("6 accepted, 2 rejected", "1 accepted, 1 rejected")
    assert chart.longest() == 8.0


@pytest.mark.parametrize("width", [20, 60, 200])
def test_bars_fit_the_width_and_keep_their_proportions(width: int):
    lines = [line.plain for line in chart_lines(daily_chart(DAILY), width)]
    assert lines[0] == "Transaction sets per day"
    first, second = lines[2], lines[3]
    bar = width - len("2025-01-01") - len("6 accepted, 2 rejected") - 4
    if bar >= MIN_BAR:
        assert max(len(line) for line in lines) <= width
    else:  # too narrow: the narrowest bar, folded by the terminal
        bar = MIN_BAR
    assert first.count("\u2588") + first.count("\u2592") == bar  # the longest: full
    assert first.count("\u2592") == round(2 / 8 * bar)
    assert second.count("\u2588") == round(1 / 8 * bar)


def test_partner_bars_are_rates_of_a_hundred():
    rows = [
        {"partner": "acme", "sets": 4, "accepted_pct": 25.0},
        {"partner": "", "sets": 0, "accepted_pct": None},
    ]
    chart = partners_chart(rows)
    assert chart.labels == ("acme", "(none)") and chart.longest() == 100.0
    assert chart.notes == ("25.0% of 4 sets", "no sets")
    lines = [line.plain for line in chart_lines(chart, 60)]
    bar = 60 - len("(none)") - len("25.0% of 4 sets") - 4
    assert lines[1].count("\u2588") == round(bar / 4)
    assert "\u2588" not in lines[2]


def test_percentile_is_a_value_that_occurred_by_nearest_rank():
    values = [float(v) for v in range(20, 0, -1)]
    assert percentile(values, 95) == 19.0
    assert percentile(values, 50) == 10.0
    assert percentile([7.5], 95) == 7.5


def test_a_sets_reasons_are_its_segment_errors_else_its_ik502():
    errors = [
        {"code": "5", "level": "IK502"},
        {"code": "7", "segment": "NM1", "position": 8, "element": 2},
        {"code": "7", "segment": "NM1", "position": 9, "element": 3},
        {"code": "8", "segment": "HL", "position": 12},
    ]
    assert set_reasons(json.dumps(errors)) == {
        "IK403 7: invalid code value",
        "IK304 8: segment has data element errors",
    }
    assert set_reasons(json.dumps([{"code": "4", "level": "IK502"}])) == {
        "IK502 4: number of included segments does not match actual count"
    }
    assert set_reasons(None) == set()
