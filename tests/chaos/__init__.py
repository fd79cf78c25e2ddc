"""Fault tests: a digest send through real Celery workers, beat, a private
PostgreSQL cluster and a private Redis, with faults injected on the way.
``make chaos`` runs them with 20,000 readers; the default suite with fewer."""
