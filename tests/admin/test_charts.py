import pytest

from newsletter.admin.charts import Threshold, svg_bars


def test_one_bar_per_known_value_with_exact_tooltips():
    svg = svg_bars(values=[3, None, 12], labels=["a", "b", "c"], title="Sent")
    assert svg.count("<rect") == 2
    assert "<title>a: 3</title>" in svg and "<title>c: 12</title>" in svg
    assert '<title>Sent</title>' in svg


def test_rates_show_as_percentages_with_threshold_lines():
    lines = [Threshold(0.001, "0.1% keep under", "#f60"), Threshold(0.003, "0.3% never", "#c00")]
    svg = svg_bars(values=[0.0005, 0.002], labels=["d1", "d2"], title="Complaints", percent=True,
                   thresholds=lines)
    assert "<title>d2: 0.20%</title>" in svg
    assert svg.count('stroke-dasharray="5 3"') == 2
    assert "0.3% never" in svg


def test_text_is_escaped():
    svg = svg_bars(values=[1], labels=["<script>x</script>"], title='"><img>')
    assert "<script>" not in svg and "<img>" not in svg
    assert "&lt;script&gt;" in svg


def test_values_and_labels_must_match():
    with pytest.raises(ValueError, match="differ in length"):
        svg_bars(values=[1, 2], labels=["a"], title="x")


def test_all_zero_values_still_draw_an_axis():
    svg = svg_bars(values=[0, 0], labels=["a", "b"], title="Nothing")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
