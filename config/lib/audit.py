"""The admin log as the record of editorial decisions.

Editors act through admin actions, change forms and commands; each of those
records here what was done and by whom, so "who hid this paper?" has one
answer in the admin's history pages."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models


def editorial_log(*, by, objects: Iterable[models.Model], message: str, added: bool = False) -> int:
    """One admin log entry per object, in one INSERT. Returns how many."""
    objects = list(objects)
    if by is None or not objects:
        return 0
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=objects,
        action_flag=ADDITION if added else CHANGE,
        change_message=message,
    )
    return len(objects)


def editorial_log_summary(*, by, model: type[models.Model], title: str, message: str) -> LogEntry | None:
    """A log entry about many rows at once (an import), not tied to one object."""
    if by is None:
        return None
    return LogEntry.objects.create(
        user_id=by.pk,
        content_type=ContentType.objects.get_for_model(model),
        object_id=None,
        object_repr=title[:200],
        action_flag=ADDITION,
        change_message=message,
    )
