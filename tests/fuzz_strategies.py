"""Hypothesis strategies shared by the bad-input tests (not a test module):
hostile text, arbitrary JSON, and byte strings near a valid document."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters that broke, or could break, something somewhere: NUL (PostgreSQL
# refuses it), lone surrogates (no UTF-8 encoder takes them), line breaks of
# every kind (headers, logs, JSON Lines), escape, markup, a byte-order mark,
# other scripts' digits.
HOSTILE_CHARS = [
    "\x00", "\ud800", "\udfff", "\r", "\n", "\x0b", "\x85", "\u2028", "\x1b", "\x7f", "\x9b",
    "<", ">", '"', "'", "&", "\ufeff", "\ufffd", "٢", "²", "\t", " ", "%", "\\",
]
HOSTILE_STRINGS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "Subject: hi\r\nBcc: victim@example.org",
    "{{ 7|add:7 }}{% debug %}",
    "\x00\x00",
    "a" * 600,
]

hostile_text = st.one_of(
    st.text(st.one_of(st.characters(), st.sampled_from(HOSTILE_CHARS)), max_size=40),
    st.sampled_from(HOSTILE_STRINGS),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=12,
)


def byte_mutations(valid: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A valid document cut short, with bytes inserted, or replaced; or
    bytes with no structure at all."""

    @st.composite
    def mutated(draw):
        data = bytearray(draw(valid))
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            where = draw(st.integers(min_value=0, max_value=len(data)))
            action = draw(st.sampled_from(["cut", "insert", "replace"]))
            if action == "cut":
                del data[where:]
            elif action == "insert":
                data[where:where] = draw(st.binary(min_size=1, max_size=8))
            elif where < len(data):
                data[where] = draw(st.integers(min_value=0, max_value=255))
        return bytes(data)

    return st.one_of(mutated(), st.binary(max_size=200))
