"""The ``any_of`` lookup answers exactly like ``in``; on PostgreSQL as one
parameter, so the statement's text does not change with the number of values."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.lib.lookups import pg_array
from newsletter.models import PaperTopic, Topic
from tests.factories import paper_make

pytestmark = pytest.mark.django_db

AWKWARD = ['plain', 'with "quotes"', "back\\slash", "comma, and {braces}", "ünïcode ✓", "NULL", ""]


@pytest.fixture
def topics():
    return [Topic.objects.create(slug=f"any-of-{n}", name=name) for n, name in enumerate(AWKWARD)]


def _same(queryset_in, queryset_any):
    assert sorted(q.pk for q in queryset_in) == sorted(q.pk for q in queryset_any)


def test_numbers_text_and_foreign_keys_match_the_in_lookup(topics):
    paper = paper_make("2401.00001", title="A paper")
    for topic in topics[:3]:
        PaperTopic.objects.create(paper=paper, topic=topic)
    pks = [t.pk for t in topics[::2]] + [10**9, topics[0].pk]  # a missing id and a repeat
    _same(Topic.objects.filter(pk__in=pks), Topic.objects.filter(pk__any_of=pks))
    _same(Topic.objects.filter(name__in=AWKWARD[1:5]), Topic.objects.filter(name__any_of=AWKWARD[1:5]))
    assert Topic.objects.filter(name__any_of=AWKWARD).count() == len(AWKWARD)
    _same(PaperTopic.objects.filter(topic_id__in=pks), PaperTopic.objects.filter(topic_id__any_of=pks))
    _same(PaperTopic.objects.filter(topic__in=pks), PaperTopic.objects.filter(topic__any_of=pks))
    _same(Topic.objects.exclude(pk__in=pks), Topic.objects.exclude(pk__any_of=pks))


def test_values_needing_preparation_are_prepared(topics):
    # Not plain ints for an integer key: Django's own preparation converts them.
    wanted = [str(topics[1].pk), topics[2].pk]
    _same(Topic.objects.filter(pk__in=wanted), Topic.objects.filter(pk__any_of=wanted))
    assert Topic.objects.filter(pk__any_of=wanted).count() == 2


def test_empty_and_null_values(topics):
    assert not Topic.objects.filter(pk__any_of=[]).exists()
    assert not Topic.objects.filter(pk__any_of=[None]).exists()
    assert Topic.objects.exclude(pk__any_of=[]).count() == Topic.objects.count()
    assert Topic.objects.filter(pk__any_of=[None, topics[0].pk]).get() == topics[0]


def test_a_subquery_still_works(topics):
    inner = Topic.objects.filter(name__startswith="with").values("pk")
    assert list(Topic.objects.filter(pk__any_of=inner)) == [topics[1]]


def test_one_parameter_and_one_statement_text_for_any_number_of_values(require_postgres, topics):
    texts = []
    for count in (3, 300):
        with CaptureQueriesContext(connection) as captured:
            list(Topic.objects.filter(pk__any_of=range(count)).values_list("pk"))
        texts.append(Topic.objects.filter(pk__any_of=range(count)).values_list("pk").query.sql_with_params())
        assert "ANY(" in captured[0]["sql"]
    (sql3, params3), (sql300, params300) = texts
    assert sql3 == sql300
    assert len(params3) == len(params300) == 1


def test_array_text():
    assert pg_array([1, 2, 30]) == "{1,2,30}"
    assert pg_array(['a"b', "c\\d", "e,f"]) == '{"a\\"b","c\\\\d","e,f"}'
    assert pg_array([1, "a"]) is None  # mixed: the plain in lookup is used
    assert pg_array([True]) is None
