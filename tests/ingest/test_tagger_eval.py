"""The tagger and the digest, measured against hand-labelled papers
(tests/data/sample_topics_expected.json, tests/data/heldout_topics.json).

The floors are the figures `manage.py relevance_eval` printed when they were
set (docs/relevance.md), less two or three points: a change to the tagger,
the keywords or the ranking that costs more fails here.
"""

import io
import json

import pytest
from django.core.management import call_command

from newsletter.ingest.files import SAMPLE_PATH, file_items_read
from newsletter.relevance.report import REPORT_SEED, relevance_report
from newsletter.tagging.evaluate import HELDOUT_PATH, LABELS_PATH, labels_set, tagger_evaluate

pytestmark = pytest.mark.django_db

MIN_F1 = {"sample": 0.82, "heldout-dev": 0.79, "heldout-gate": 0.73}
MIN_FOR_YOU_PRECISION = {"sample": 0.96, "heldout-gate": 0.84}
# Day 7 with feedback against day 7 without (report seed), in precision
# points: partly matched readers gained 0.21; exactly matched ones lost 0.001
# (0.4 points before followed topics kept their papers), so a change that
# brings that loss back fails.
MIN_GAIN_PARTIAL = 0.18
MAX_LOSS_EXACT = 0.002


@pytest.fixture(scope="module")
def report(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return relevance_report()


def test_labels_cover_every_sample_paper_once():
    labels = json.loads(LABELS_PATH.read_text())["papers"]
    sample_ids = [item["paper"]["id"] for item in file_items_read(SAMPLE_PATH)]
    assert sorted(p["arxiv_id"] for p in labels) == sorted(sample_ids)
    assert len(sample_ids) == 91


def test_heldout_set_is_apart_from_the_sample_and_its_gate_part_covers_every_topic():
    heldout = json.loads(HELDOUT_PATH.read_text())["papers"]
    sample_ids = {item["paper"]["id"] for item in file_items_read(SAMPLE_PATH)}
    assert len(heldout) == 151 and not {p["arxiv_id"] for p in heldout} & sample_ids
    gate = [p for p in heldout if p["split"] == "gate"]
    covered = {slug for p in gate for slug in p["topics"]}
    assert len(gate) >= 90 and len(covered) == 19


def test_tagger_keeps_its_measured_f1_on_every_labelled_set(report):
    for name, floor in MIN_F1.items():
        assert report["tagging"][name]["f1"] >= floor, (name, report["tagging"][name])


def test_for_you_keeps_its_measured_precision(report):
    for name, floor in MIN_FOR_YOU_PRECISION.items():
        assert report["for_you"][name]["precision"] >= floor, (name, report["for_you"][name])


def test_feedback_helps_partly_matched_readers_and_costs_exact_ones_almost_nothing(report):
    assert report["simulation"]["seed"] == REPORT_SEED  # constants are tuned on another seed
    partial, exact = report["simulation"]["partial"], report["simulation"]["exact"]
    assert partial["day7_with_feedback"] - partial["day7_without_feedback"] >= MIN_GAIN_PARTIAL, partial
    assert exact["day7_with_feedback"] >= exact["day7_without_feedback"] - MAX_LOSS_EXACT, exact


def test_evaluation_of_one_set_counts_every_pair():
    result = tagger_evaluate(papers=labels_set("sample"))
    o = result.overall

    assert result.papers == 91
    assert o.tp + o.fn == sum(len(p.expected) for p in labels_set("sample"))
    assert sum(c.tp for c in result.per_topic.values()) == o.tp


def test_relevance_eval_prints_one_json_line_with_every_figure():
    out = io.StringIO()
    call_command("relevance_eval", "--no-simulation", stdout=out)
    lines = out.getvalue().splitlines()

    assert len(lines) == 1
    report = json.loads(lines[0])
    assert set(report["tagging"]) == {"sample", "heldout-dev", "heldout-gate"}
    assert set(report["tagging"]["heldout-gate"]["per_topic"]) >= {"speculative-decoding", "code"}
    assert {"precision", "recall"} <= set(report["for_you"]["sample"])
    assert set(report["dev_trade_off"]) == {"0.0", "0.3", "0.4", "0.5"}


def test_tagger_eval_prints_per_topic_and_overall_figures():
    out = io.StringIO()
    call_command("tagger_eval", stdout=out)
    lines = out.getvalue().splitlines()

    assert lines[0].split() == ["topic", "prec", "recall", "f1", "tp", "fp", "fn"]
    assert any(line.startswith("speculative-decoding ") for line in lines)
    assert lines[-1].startswith("overall on 91 papers (sample): precision 0.")
