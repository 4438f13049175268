"""The Phase 3 project's seeders, one module per domain (selected by `phase3test_seeders`)."""

from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.users import UsersSeeder, user_id

SEEDERS = [UsersSeeder(), BaselineSeeder()]

__all__ = ["SEEDERS", "user_id"]
