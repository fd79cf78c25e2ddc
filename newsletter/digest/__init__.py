"""Personalized digests: choose papers per reader, render once per edition,
assemble per reader, schedule across time zones and send exactly once.

    pool.py         the edition's papers as plain data, loaded once per edition
    ranking.py      the documented score (relevance x attention x recency)
    selection.py    which papers one reader gets, and why
    history.py      what readers already received
    render.py       templates inlined by premailer once per edition, split into parts
    text.py         small text helpers (HTML as ASCII)
    assemble.py     one reader's message from ready parts and signed links
    links.py        the signed links' tokens, minted fast (same tokens as token_make)
    schedule.py     who is due now (their time zone), Delivery rows in bulk
    send.py         a chunk of deliveries: check, select, assemble, claim, send; stale rows settled
    sender_pool.py  many messages in flight: sending threads, batched claims and records
    failures.py     what a failed send means (retry, refused, failed) and how it is recorded
    ratelimit.py    the provider's sending rate, shared by every worker (Redis)
    run.py          plan and send in one process (manage.py send_digests)
    build.py        one reader's digest for previews and the web copies
    preview.py      the editor's preview of any reader's digest, and a test send
"""
