"""Benchmarks, their data generators and fake servers, run as scripts from the
project's root (``python -m bench.<name>``). Never imported by the apps."""
