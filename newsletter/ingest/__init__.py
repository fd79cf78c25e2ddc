"""Paper ingestion: each source parses its format into ``PaperRecord``s and
``records_store`` upserts them by arXiv id (see ``store.py``)."""

from newsletter.ingest.records import IngestReport, PaperRecord, RecordError

__all__ = ["IngestReport", "PaperRecord", "RecordError"]
