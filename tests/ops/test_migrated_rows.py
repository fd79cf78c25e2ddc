"""The rows the data migrations make come back, as they made them, for every
test that uses the database (conftest), whatever a test before emptied."""

import pytest

from newsletter.models import Topic
from tests.factories import topics_default

pytestmark = pytest.mark.django_db

FIELDS = ("slug", "name", "description", "keywords", "position", "active")


def test_default_topics_come_back_as_the_migrations_left_them():
    migrated = list(Topic.objects.order_by("slug").values_list(*FIELDS))
    assert len(migrated) == 19
    Topic.objects.all().delete()  # as a transactional test's flush does

    topics_default()

    assert list(Topic.objects.order_by("slug").values_list(*FIELDS)) == migrated
