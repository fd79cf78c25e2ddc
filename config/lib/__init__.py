"""Small helpers both apps use: admin pieces, paging, the audit log, database
lookups, a cache counter, building emails and inlining their CSS, retry
waits. Nothing here imports ``newsletter`` or ``subscribers``."""
