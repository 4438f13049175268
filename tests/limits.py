"""How long what a test starts may take: far above the slowest seen (a pytest run of the suites, about 30 s on
a loaded 2-core machine), so that a hang fails the test instead of the whole CI run."""

SUBPROCESS_TIMEOUT = 300  # seconds for a pytest run, a CLI call or a tool a test starts
