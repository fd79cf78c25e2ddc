"""The admin log as the record of editorial decisions.

Editors act through admin actions, change forms and commands; each of those
records here what was done and by whom, so "who hid this paper?" has one
answer in the admin's history pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q


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


def editorial_log_erase(*, model: type[models.Model], object_id: int, label: str,
                        scrub: Callable[[str], str], mentions: Iterable[str]) -> int:
    """Take a person out of the admin log, keeping the record of who did
    what: entries about the row ``model``/``object_id`` are relabelled
    ``label``, and every entry whose text ``mentions`` them has that text
    passed through ``scrub``. Returns how many entries changed."""
    content_type = ContentType.objects.get_for_model(model)
    own = Q(content_type=content_type, object_id=str(object_id))
    mentioned = Q()
    for text in mentions:
        mentioned |= Q(object_repr__icontains=text) | Q(change_message__icontains=text)
    changed = 0
    for entry in LogEntry.objects.filter(own | mentioned):
        is_own = entry.content_type_id == content_type.pk and entry.object_id == str(object_id)
        entry.object_repr = label if is_own else scrub(entry.object_repr)
        entry.change_message = scrub(entry.change_message)
        entry.save(update_fields=["object_repr", "change_message"])
        changed += 1
    return changed
