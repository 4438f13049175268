"""The framework's own tests: fixtures live in plugin modules (`fix_*.py`), one concern each."""

collect_ignore = ["sample_project", "samples"]
pytest_plugins = ["pytester", "fix_homes", "fix_projects", "fix_outside_server", "fix_tables"]
