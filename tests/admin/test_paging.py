import pytest
from django.db import connection

from config.lib.paging import EstimatedCountPaginator, table_row_estimate
from subscribers.models import Subscriber

pytestmark = pytest.mark.django_db


def readers(start, stop):
    Subscriber.objects.bulk_create([Subscriber(email=f"r{n}@example.org") for n in range(start, stop)])


def paginator(queryset, above):
    pages = EstimatedCountPaginator(queryset.order_by("pk"), 10)
    pages.estimate_above = above
    return pages


def test_unfiltered_big_table_counts_with_the_planner_estimate(require_postgres):
    readers(0, 30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE subscribers_subscriber")
    readers(30, 35)  # not yet in the statistics
    assert table_row_estimate(model=Subscriber) == 30
    assert paginator(Subscriber.objects.all(), above=20).count == 30
    # Filtered lists, and tables below the threshold, count exactly.
    assert paginator(Subscriber.objects.filter(status="pending"), above=20).count == 35
    assert paginator(Subscriber.objects.all(), above=100).count == 35


def test_filtered_lists_and_small_tables_count_exactly():
    readers(0, 12)
    assert paginator(Subscriber.objects.filter(status="pending"), above=0).count == 12
    assert paginator(Subscriber.objects.all(), above=100).count == 12
