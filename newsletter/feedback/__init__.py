"""Learning from each reader: votes on papers ("More like this" / "Less like
this"), weak signals from clicks, and what they teach the ranking.

    taste.py      pure functions: a paper's features, a reader's taste from
                  rated papers, and the taste's adjustment of an edition
    learning.py   votes and clicks in the database -> the reader's stored taste,
                  suggestions, reset, export
    links.py      the signed feedback links of a digest
    views.py      the pages behind those links (GET shows, POST votes)

Nothing here sends an email or changes a subscription by itself: following a
suggested topic takes the reader's own click on the preferences page.
"""
