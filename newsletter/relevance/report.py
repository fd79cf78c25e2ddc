"""Every relevance figure in one JSON-ready dict (``manage.py relevance_eval``)."""

from __future__ import annotations

from newsletter.models import Topic
from newsletter.relevance.editions import edition_build, edition_day, editions_split
from newsletter.relevance.foryou import foryou_evaluate, readers_follow
from newsletter.relevance.simulation import readers_simulated, simulation_run
from newsletter.tagging import RELATIVE_CUT
from newsletter.tagging.evaluate import (
    DEV_SETS,
    GATE_SET,
    SETS,
    labels_heldout,
    labels_set,
    tagger_evaluate,
    topics_predictor,
)

# The relative cuts the trade-off table compares (0 = no cut).
CUTS = (0.0, 0.3, 0.4, 0.5)
SIMULATION_DAYS = 7
# The learning constants are tuned on TUNING_SEED's readers and reported on
# REPORT_SEED's, so the reported gain is not fitted to the readers it reports.
TUNING_SEED = 99
REPORT_SEED = 23


def _tagging(papers, topics, cut: float, per_topic: bool) -> dict:
    result = tagger_evaluate(papers=papers, topics=topics, predict=topics_predictor(topics, relative_cut=cut))
    figures = {"papers": result.papers, **result.overall.as_dict()}
    if per_topic:
        figures["per_topic"] = {slug: counts.as_dict() for slug, counts in result.per_topic.items()}
    return figures


def relevance_report(*, simulation: bool = True, seed: int = REPORT_SEED) -> dict:
    """Tagging per label set (per topic too), the relative-cut trade-off on
    the development sets, "For you" on the sample and the gate edition, and
    the seven-day feedback simulation (its readers drawn with ``seed``)."""
    topics = list(Topic.objects.filter(active=True))
    sets = {name: labels_set(name) for name in SETS}
    dev = [paper for name in DEV_SETS for paper in sets[name]]
    report: dict = {
        "relative_cut": RELATIVE_CUT,
        "tagging": {
            name: _tagging(papers, topics, RELATIVE_CUT, per_topic=True) for name, papers in sets.items()
        },
        "dev_trade_off": {
            str(cut): {
                "tagging": _tagging(dev, topics, cut, per_topic=False),
                "for_you_sample": _for_you(sets["sample"], topics, relative_cut=cut),
            }
            for cut in CUTS
        },
        "for_you": {
            "sample": _for_you(sets["sample"], topics),
            GATE_SET: _for_you(sets[GATE_SET], topics),
        },
    }
    if simulation:
        report["simulation"] = {"seed": seed, **_simulation(topics, seed)}
    return report


def _for_you(papers, topics, **options) -> dict:
    edition = edition_build(papers=papers, topics=topics, **options)
    return foryou_evaluate(edition=edition, follows=readers_follow(edition=edition)).as_dict()


def _simulation(topics, seed: int) -> dict:
    # Fresh copies: edition_build dates the papers it is given.
    days = [labels_set("sample"), *editions_split(papers=labels_heldout(), days=SIMULATION_DAYS - 1)]
    editions = [
        edition_build(papers=papers, topics=topics, day=edition_day(number))
        for number, papers in enumerate(days)
    ]
    return simulation_run(editions=editions, readers=readers_simulated(editions=editions, seed=seed))
