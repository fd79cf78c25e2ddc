"""How well the digest serves readers, measured against hand-labelled papers
(``manage.py relevance_eval``; figures and method in docs/relevance.md).

    editions.py     labelled papers -> edition pools, tagged by the tagger
    foryou.py       "For you" precision and recall for simulated readers
    simulation.py   seven days of digests for readers who rate a few papers a day
    report.py       everything above as one JSON-ready dict

Reads topics from the database and writes nothing.
"""
