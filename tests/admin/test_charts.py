import re

import pytest

from newsletter.admin.charts import Threshold, legend, nice_ticks, svg_bars


def _ticks(svg: str) -> list[str]:
    return re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]*)</text>', svg)


def test_one_bar_per_known_value_with_exact_tooltips():
    svg = svg_bars(values=[3, None, 12], labels=["a", "b", "c"], title="Sent", unit="emails")
    assert len(re.findall(r'<rect [^>]*fill="#', svg)) == 2
    assert "<title>a: 3</title>" in svg and "<title>c: 12</title>" in svg
    assert "<title>Sent</title>" in svg


@pytest.mark.parametrize(("top", "whole", "expected"), [
    (0, True, [0, 1]),
    (2, True, [0, 1, 2]),
    (3, True, [0, 1, 2, 3]),
    (7, True, [0, 2, 4, 6, 8]),
    (1234, True, [0, 500, 1000, 1500]),
    (0.0025, False, [0, 0.0005, 0.001, 0.0015, 0.002, 0.0025]),
    (0.03, False, [0, 0.01, 0.02, 0.03]),
    (0, False, [0, 0.002, 0.004, 0.006, 0.008, 0.01]),
])
def test_ticks_are_round_numbers_reaching_the_top(top, whole, expected):
    assert nice_ticks(top, whole=whole) == pytest.approx(expected)


def test_counts_have_whole_number_ticks():
    # The old axis topped these at "2.30".
    svg = svg_bars(values=[0, 1, 2], labels=["a", "b", "c"], title="Confirmations", unit="readers")
    assert _ticks(svg) == ["0", "1", "2"]
    assert '<text x="4" y="14" text-anchor="start" class="dp-unit">readers</text>' in svg


def test_rates_have_percentage_ticks_and_threshold_lines():
    lines = [Threshold(0.001, "0.1% keep under", "#f60"), Threshold(0.003, "0.3% never", "#c00")]
    svg = svg_bars(values=[0.0005, 0.002], labels=["d1", "d2"], title="Complaints", unit="% of emails sent",
                   percent=True, thresholds=lines)
    assert "<title>d2: 0.20%</title>" in svg
    assert _ticks(svg) == ["0%", "0.05%", "0.10%", "0.15%", "0.20%"]
    # The line to keep under is in view; the higher one only once the scale reaches it.
    assert svg.count('stroke-dasharray="6 4"') == 1
    assert "<title>0.1% keep under</title>" in svg and "0.3% never" not in svg
    higher = svg_bars(values=[0.004], labels=["d"], title="Complaints", unit="%", percent=True,
                      thresholds=lines)
    assert higher.count('stroke-dasharray="6 4"') == 2


def test_a_day_without_data_is_a_gap_not_a_zero():
    svg = svg_bars(values=[0.0, None, 0.01], labels=["a", "b", "c"], title="Bounce rate", unit="%",
                   percent=True, gap="no emails sent")
    assert '<title>a: 0.00%</title>' in svg  # a zero is a value
    assert re.search(r'<rect [^>]*class="dp-gap"><title>b: no emails sent</title></rect>', svg)
    assert "1 day with no emails sent" in svg


def test_the_svg_describes_itself_for_screen_readers():
    svg = svg_bars(values=[1, 5, 2], labels=["07-01", "07-02", "07-03"], title="Emails sent", unit="emails")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'role="img"' in svg
    desc = re.search(r"<desc>([^<]*)</desc>", svg).group(1)
    assert desc == ("Emails sent per day, 07-01 to 07-03, in emails: highest 5 on 07-02. "
                    "Every day&#x27;s figure is in the day-by-day table.")


def test_legend_names_the_lines_and_the_gap():
    html = legend([Threshold(0.02, "2%: keep under", "#b45309")], gap="no emails sent")
    assert "2%: keep under" in html and "no emails sent" in html and 'style="border-color:#b45309"' in html
    assert legend([]) == ""
    assert "0.3%: never reach (above this scale)" in legend([Threshold(0.003, "0.3%: never reach", "#c00")],
                                                          top=0.002)


def test_text_is_escaped():
    svg = svg_bars(values=[1], labels=["<script>x</script>"], title='"><img>', unit="<b>")
    assert "<script>" not in svg and "<img>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg


def test_values_and_labels_must_match():
    with pytest.raises(ValueError, match="differ in length"):
        svg_bars(values=[1, 2], labels=["a"], title="x", unit="y")


def test_all_zero_values_still_draw_an_axis():
    svg = svg_bars(values=[0, 0], labels=["a", "b"], title="Nothing", unit="readers")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert _ticks(svg) == ["0", "1"]
