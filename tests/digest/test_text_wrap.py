"""The text part's line wrapping: what textwrap does, faster."""

import textwrap

from hypothesis import given
from hypothesis import strategies as st

from newsletter.digest.text import TEXT_WIDTH, text_wrap

words = st.text(alphabet="abcdefghij:/.'·&", min_size=1, max_size=90)


@given(st.lists(words, max_size=40), st.sampled_from([" ", "  ", " \n "]))
def test_wrapping_equals_textwrap_at_spaces_and_never_breaks_a_word(parts, space):
    text = space.join(parts)
    # Runs of whitespace count as one space (textwrap would keep them).
    expected = textwrap.wrap(" ".join(text.split()), width=TEXT_WIDTH, break_long_words=False,
                             break_on_hyphens=False)
    assert text_wrap(text) == "\n".join(expected)
    assert all(len(line) <= TEXT_WIDTH or " " not in line for line in text_wrap(text).splitlines())


def test_an_indent_starts_every_line():
    assert text_wrap("one two three", width=9, indent="  ") == "  one two\n  three"
