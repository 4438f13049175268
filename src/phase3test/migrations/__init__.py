"""A project's migrations: found (discovery), split (statements), applied and reverted (runner), recorded
(history), checked without a database (static) and compared with a git ref (gitref).

The names most tests need are importable from here.
"""

from phase3test.migrations.discovery import FILE_RULE, Discovery, Migration, Rollback, discover, rollback_for
from phase3test.migrations.history import HISTORY_DDL, MigrationDriftError, applied_checksums, ensure_history, verify
from phase3test.migrations.runner import (
    IrreversibleMigrationError,
    MigrationError,
    apply,
    migrate,
    reapply,
    revert,
)
from phase3test.migrations.statements import Statement, needs_autocommit, split_statements

__all__ = [
    "FILE_RULE",
    "HISTORY_DDL",
    "Discovery",
    "IrreversibleMigrationError",
    "Migration",
    "MigrationDriftError",
    "MigrationError",
    "Rollback",
    "Statement",
    "applied_checksums",
    "apply",
    "discover",
    "ensure_history",
    "migrate",
    "needs_autocommit",
    "reapply",
    "revert",
    "rollback_for",
    "split_statements",
    "verify",
]
