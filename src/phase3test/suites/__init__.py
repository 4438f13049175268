"""The suites every Supabase project can run against its own migrations.

    pytest -n auto --pyargs phase3test.suites

Run from the project's root (where its pytest configuration names the
`supabase/` folder and, for the data checks, its seeders). Each module is one
suite; `docs/testing.md` says what each guarantees and how to read a failure.
"""
