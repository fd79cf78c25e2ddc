"""The CSV import benchmark at a tiny size (the real run is 100,000 rows)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from bench.importing import Command
from subscribers.models import Subscriber, SubscriberImport

pytestmark = pytest.mark.django_db


def test_bench_importing_reports_its_figures_and_leaves_the_database_unchanged():
    out = StringIO()
    call_command(Command(), "--rows", "50", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert (result["rows"], result["created"]) == (50, 50)
    assert result["request_s"] >= 0 and result["run_s"] > 0
    assert not Subscriber.objects.exists() and not SubscriberImport.objects.exists()
