"""The feedback links of one reader's digest: a "Rate these papers" page and,
per paper, "More like this" / "Less like this". One signed token per reader
and edition (purpose ``feedback``, the edition date in its salt), minted with
the digest's other links; a paper's links add its arXiv id and the vote."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.digest.links import token_minter

VOTES = {"more": 1, "less": -1}


@dataclass(frozen=True, slots=True)
class FeedbackLinks:
    rate_url: str
    prefix: str  # a paper's links: paper_vote_url(prefix, arxiv_id, "more" | "less")


def feedback_token(*, reader, day: str, secret: str) -> str:
    """The reader's feedback token for the edition of ``day`` (ISO date)."""
    (token,) = token_minter("feedback", secret=secret, scopes=(day,)).mint(reader)
    return token


def feedback_links(*, token: str, day: str, site_url: str) -> FeedbackLinks:
    """The feedback links of a digest of ``day`` (ISO date) with ``token``
    (minted with the digest's other tokens, see assemble.reader_links)."""
    prefix = f"{site_url}/feedback/{day}/{token}"
    return FeedbackLinks(rate_url=f"{prefix}/", prefix=prefix)


def paper_vote_url(prefix: str, arxiv_id: str, vote: str) -> str:
    return f"{prefix}/{arxiv_id}/{vote}/"
