"""Small helpers both apps use: admin pieces, paging, the audit log, database
lookups and a cache counter. Nothing here imports ``newsletter`` or ``subscribers``."""
