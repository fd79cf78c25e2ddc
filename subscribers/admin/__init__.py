"""The readers' side of the editor's desk: readers (list, form, CSV in and
out), and the provider events and suppressions behind bounces."""

from subscribers.admin import readers  # noqa: F401 - registers the model admins
from subscribers.provider_events import admin as provider_events_admin  # noqa: F401
