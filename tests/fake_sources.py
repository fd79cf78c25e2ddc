"""Local stand-ins for the Hugging Face and arXiv APIs: a real HTTP server
on 127.0.0.1 in a thread, answering from a script of recorded-format
responses and remembering every request it got."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | list | dict = b""
    headers: dict = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0  # hold the answer this long (a slow server, for timeouts)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, list | dict):
            return json.dumps(self.body).encode(), self.content_type or "application/json; charset=utf-8"
        body = self.body.encode() if isinstance(self.body, str) else self.body
        return body, self.content_type or "application/octet-stream"


Responder = Callable[[dict], Reply]


class FakeSource:
    """``route(path, responder)`` with a function of the query parameters, or
    a list of Replies served in order (the last one repeats)."""

    def __init__(self):
        self.routes: dict[str, Responder] = {}
        self.requests: list[tuple[str, dict]] = []
        self._released = threading.Event()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                source.requests.append((parts.path, params))
                responder = source.routes.get(parts.path)
                reply = responder(params) if responder else Reply(404, "no such route")
                if reply.delay:
                    source._released.wait(reply.delay)
                body, content_type = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, responder: Responder | list[Reply]) -> None:
        if isinstance(responder, list):
            queue = list(responder)

            def scripted(params, queue=queue):
                return queue.pop(0) if len(queue) > 1 else queue[0]

            self.routes[path] = scripted
        else:
            self.routes[path] = responder

    def calls(self, path: str) -> list[dict]:
        return [params for p, params in self.requests if p == path]

    def start(self) -> FakeSource:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()


# Recorded formats ------------------------------------------------------------

def hf_item(
    arxiv_id: str,
    *,
    title: str | None = None,
    upvotes: int = 0,
    featured: str = "2025-08-05",
    comments: int = 0,
    **paper_fields,
) -> dict:
    """One ``/api/daily_papers`` item, shaped like the real API's."""
    title = title or f"Paper {arxiv_id}"
    paper = {
        "id": arxiv_id,
        "authors": [
            {"_id": "a1", "name": "First Author", "hidden": False},
            {"_id": "a2", "name": "Second Author", "hidden": False},
        ],
        "publishedAt": "2025-08-01T17:59:58.000Z",
        "submittedOnDailyAt": f"{featured}T01:23:45.678Z",
        "title": title,
        "summary": f"We study {title.lower()}.",
        "upvotes": upvotes,
        "discussionId": f"d-{arxiv_id}",
        "ai_summary": None,
        "ai_keywords": None,
    }
    paper.update(paper_fields)
    return {
        "paper": paper,
        "publishedAt": f"{featured}T01:23:45.678Z",
        "title": title,
        "summary": paper["summary"],
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{arxiv_id}.png",
        "numComments": comments,
        "submittedBy": {"_id": "u1", "name": "curator", "fullname": "A Curator", "avatarUrl": "/a.png"},
        "isAuthorParticipating": False,
    }


def atom_entry(
    arxiv_id: str,
    *,
    version: int = 1,
    title: str = "A paper",
    summary: str = "An abstract.",
    authors: tuple[str, ...] = ("First Author",),
    published: str = "2025-08-04T17:59:58Z",
    updated: str | None = None,
    primary: str = "cs.CL",
    categories: tuple[str, ...] = ("cs.CL",),
) -> str:
    """One Atom ``<entry>`` as the arXiv export API writes it."""
    authors_xml = "".join(f"\n    <author>\n      <name>{name}</name>\n    </author>" for name in authors)
    categories_xml = "".join(
        f'\n    <category term="{term}" scheme="http://arxiv.org/schemas/atom"/>' for term in categories
    )
    return f"""  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v{version}</id>
    <updated>{updated or published}</updated>
    <published>{published}</published>
    <title>{title}</title>
    <summary>  {summary}
</summary>{authors_xml}
    <link href="http://arxiv.org/abs/{arxiv_id}v{version}" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{arxiv_id}v{version}" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{primary}" scheme="http://arxiv.org/schemas/atom"/>{categories_xml}
  </entry>
"""


def atom_feed(entries: list[str], *, total: int | None = None, start: int = 0) -> str:
    """An arXiv ``/api/query`` answer around some entries."""
    total = len(entries) if total is None else total
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3Dcat%3Acs.CL%26start%3D{start}" rel="self"
        type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=cat:cs.CL&amp;id_list=&amp;start={start}</title>
  <id>http://arxiv.org/api/Xb0e1Rk6ZJ1nGz7x1a8lB3yTq0E</id>
  <updated>2025-08-05T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{start}</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{len(entries)}</opensearch:itemsPerPage>
{"".join(entries)}</feed>
"""


def arxiv_paged(entries: list[str]) -> Responder:
    """Answer ``/api/query`` like arXiv: ``start`` and ``max_results`` slice the results."""

    def respond(params: dict) -> Reply:
        start, size = int(params.get("start", 0)), int(params.get("max_results", 10))
        page = entries[start:start + size]
        feed = atom_feed(page, total=len(entries), start=start)
        return Reply(200, feed, content_type="application/atom+xml")

    return respond


def hf_paged(items_by_day: dict[str, list[dict]], *, rejected: tuple[str, ...] = ()) -> Responder:
    """Answer ``/api/daily_papers`` like Hugging Face: ``date``, ``p`` and
    ``limit``; a day with no papers is an empty list, a date it cannot read
    (or one in ``rejected``) is a 400."""

    def respond(params: dict) -> Reply:
        day = params.get("date", "")
        try:
            date.fromisoformat(day)
        except ValueError:
            day = ""
        if not day or day in rejected:
            return Reply(400, {"error": f"Invalid date: {params.get('date', '')}"})
        page, limit = int(params.get("p", 0)), int(params.get("limit", 50))
        return Reply(200, items_by_day.get(day, [])[page * limit:(page + 1) * limit])

    return respond


@contextmanager
def sources_serving(settings, **overrides):
    """A fake Hugging Face API and a fake arXiv API, the settings pointed at
    them (no arXiv throttle), plus ``overrides`` (setting name -> value)."""
    hf, arxiv = FakeSource().start(), FakeSource().start()
    settings.HF_API_URL = hf.url
    settings.ARXIV_API_URL = arxiv.url
    settings.ARXIV_REQUEST_INTERVAL_SECONDS = 0
    for name, value in overrides.items():
        setattr(settings, name, value)
    try:
        yield hf, arxiv
    finally:
        hf.stop()
        arxiv.stop()
