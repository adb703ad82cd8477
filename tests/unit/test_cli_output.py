"""The analyst commands' plain tables and page footers (what pipes and scripts read)."""

from __future__ import annotations

from decimal import Decimal

from click.testing import CliRunner

from edi.cli.output import emit_detail, emit_rows, page_footer, table


def test_plain_table_right_aligns_numbers_and_cuts_nothing_but_row_ids():
    rows = [
        {"id": "0123456789abcdef", "sha256": "f" * 64, "charge": "120.00", "lines": 3},
        {"id": "fedcba9876543210", "sha256": "a" * 64, "charge": "5.50", "lines": 12},
        {"id": "x", "sha256": None, "charge": Decimal("-7.25"), "lines": None},
    ]
    assert table(rows).splitlines() == [
        "ID        SHA256" + " " * 58 + "  CHARGE  LINES",
        "01234567  " + "f" * 64 + "  120.00      3",
        "fedcba98  " + "a" * 64 + "    5.50     12",
        "x         " + " " * 64 + "   -7.25",
    ]


def test_text_that_is_not_an_amount_stays_left_aligned():
    rows = [{"npi": "1234567890", "payer": "SAMPLE"}, {"npi": "12", "payer": "X"}]
    assert table(rows).splitlines()[1:] == ["1234567890  SAMPLE", "12          X"]


def test_footer_says_what_a_page_leaves_out():
    assert page_footer(20, 0, False) is None
    assert page_footer(50, 0, True) == (
        "showing 1-50 of more than 50 (next page: --offset 50; longer pages: --limit)"
    )
    assert page_footer(7, 50, False) == "showing 51-57 of 57 (earlier rows: --offset 0)"
    assert page_footer(0, 80, False) == "no rows after the first 80 (earlier rows: --offset 0)"
    assert page_footer(10_000, 0, None) == (
        "showing 1-10000; more may follow (next page: --offset 10000)"
    )


def test_piped_output_is_plain_for_rows_and_details():
    def run() -> None:
        emit_rows([{"id": "abc", "charge": "1.00"}], "table", footer="showing 1-1 of more than 1")
        emit_detail({"id": "abc", "lines": [{"charge": "1.00"}]}, "table", "claim")

    import click

    done = CliRunner().invoke(click.command()(run))
    assert done.output == (
        "ID   CHARGE\nabc    1.00\nshowing 1-1 of more than 1\nid              abc\n"
        "lines.0.charge  1.00\n"
    )
