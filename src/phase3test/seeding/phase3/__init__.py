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

SEEDERS = [
    UsersSeeder(),
    BaselineSeeder(),
    DashboardSeeder(),
    BookingsSeeder(),
    EquipmentSeeder(),
    CustomersSeeder(),
    PaymentsSeeder(),
    SupportSeeder(),
    PromotionsContractsSeeder(),
    AuditSecuritySeeder(),
]

__all__ = ["SEEDERS", "user_id"]
