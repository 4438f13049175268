"""The Phase 3 project's seeders, one module per domain (selected by `phase3test_seeders`)."""

from phase3test.seeding.phase3.audit_security import AuditSecuritySeeder
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.bookings import BookingsSeeder
from phase3test.seeding.phase3.customers import CustomersSeeder
from phase3test.seeding.phase3.dashboard import DashboardSeeder
from phase3test.seeding.phase3.equipment import EquipmentSeeder
from phase3test.seeding.phase3.payments import PaymentsSeeder
from phase3test.seeding.phase3.promotions_contracts import PromotionsContractsSeeder
from phase3test.seeding.phase3.support import SupportSeeder
from phase3test.seeding.phase3.users import UsersSeeder, user_id

# In loading order, dependencies first. Payments comes early: its ledger's deferred checks are a third of the
# server's work (one event per ledger row), and loaded early they run while the other domains are generated.
# No seeder reads what it writes, so the rows are the same in any order its dependencies allow.
SEEDERS = [
    UsersSeeder(),
    BaselineSeeder(),
    PaymentsSeeder(),
    DashboardSeeder(),
    BookingsSeeder(),
    EquipmentSeeder(),
    CustomersSeeder(),
    SupportSeeder(),
    PromotionsContractsSeeder(),
    AuditSecuritySeeder(),
]

__all__ = ["SEEDERS", "user_id"]
