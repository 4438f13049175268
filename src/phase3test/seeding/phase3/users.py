"""Users first: an auth.users row and a public.users profile for every app role.

Ids do not depend on the seed, so tests can name "the second finance user"
(`user_id("finance", 1)`) whatever seed built the data. Staff get two of
each role at every scale; customers grow with the scale.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from phase3test.seeding.model import Batch, SeedContext, Seeder

APP_ROLES = ("customer", "admin", "super_admin", "finance", "marketing", "security", "pricing_service")
STAFF_PER_ROLE = 2
CUSTOMERS_PER_SCALE = 12
_NAMESPACE = uuid.UUID("6f1d3c2e-4b5a-4c7d-9e8f-0a1b2c3d4e5f")


def user_id(role: str, index: int) -> uuid.UUID:
    """The stable id of the `index`-th seeded user with this app role."""
    return uuid.uuid5(_NAMESPACE, f"{role}:{index}")


def email(role: str, index: int) -> str:
    return f"{role.replace('_', '.')}.{index}@example.test"


class UsersSeeder(Seeder):
    name = "users"
    tables = ("auth.users", "public.users")

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        counts = {role: STAFF_PER_ROLE for role in APP_ROLES} | {"customer": ctx.count(CUSTOMERS_PER_SCALE)}
        people = [(role, i) for role in APP_ROLES for i in range(counts[role])]
        joined = {
            person: ctx.now.replace(
                year=2024,
                month=ctx.random.randint(1, 12),
                day=ctx.random.randint(1, 28),
                hour=ctx.random.randint(0, 23),
            )
            for person in people
        }
        ctx.shared["users"] = {role: [user_id(role, i) for i in range(counts[role])] for role in APP_ROLES}
        yield Batch(
            "auth.users",
            ("id", "aud", "role", "email", "raw_app_meta_data", "raw_user_meta_data", "created_at", "updated_at"),
            [
                (user_id(role, i), "authenticated", "authenticated", email(role, i), None, None, at, at)
                for (role, i), at in joined.items()
            ],
        )
        first_names = [ctx.faker.first_name() for _ in range(200)]
        last_names = [ctx.faker.last_name() for _ in range(200)]
        yield Batch(
            "public.users",
            ("id", "email", "full_name", "phone", "role", "created_at", "updated_at"),
            [
                (
                    user_id(role, i),
                    email(role, i),
                    f"{ctx.random.choice(first_names)} {ctx.random.choice(last_names)}",
                    f"+1-555-{ctx.random.randint(0, 9999999):07d}",
                    role,
                    at,
                    at,
                )
                for (role, i), at in joined.items()
            ],
        )
