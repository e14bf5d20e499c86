"""Real services for the tests (S3-compatible Swift, PostgreSQL) and their pytest fixtures.

See docs/testing.md. ``fixtures.py`` holds the fixtures that ``tests/conftest.py`` exposes;
the other modules start and stop the servers and can be used outside pytest too.
"""
