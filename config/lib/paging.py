"""A paginator for admin lists over big tables.

``SELECT COUNT(*)`` on an unfiltered table of a million rows reads the whole
table (or index) on PostgreSQL. For an unfiltered list the planner's row
estimate (``pg_class.reltuples``, kept fresh by autovacuum's ANALYZE) is good
enough to draw page links; filtered lists keep exact counts, which the
indexes make cheap.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this many rows an exact count costs nothing worth saving.
ESTIMATE_ABOVE = 50_000


def table_row_estimate(*, model, using: str = "default") -> int | None:
    """The planner's row estimate for the model's table on PostgreSQL; None
    elsewhere, or when the table has never been analysed."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(model._meta.db_table)],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


class EstimatedCountPaginator(Paginator):
    """Exact counts, except for an unfiltered queryset over a big PostgreSQL
    table, where the planner's estimate stands in. The last page links may then
    be off by the estimate's error; every listed row is still real."""

    estimate_above = ESTIMATE_ABOVE

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            estimate = table_row_estimate(model=queryset.model, using=queryset.db)
            if estimate is not None and estimate > self.estimate_above:
                return estimate
        return super().count
