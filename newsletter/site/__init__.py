"""The public site: every day, week and month of papers, paper and topic
pages, search and feeds. Views and feeds are thin; what they show is
decided here (``listing``, ``periods``, ``related``, ``search``,
``feeds``)."""
