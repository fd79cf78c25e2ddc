"""The editor's desk: the admin pages of papers, topics, editions and deliveries,
the edition page's preview and test send, the dashboard and the worker check."""

from newsletter.admin import deliveries, editions, papers, topics  # noqa: F401 - registers the model admins
