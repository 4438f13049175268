"""Support conversations, SLAs and insurance follow-up (20251111000600_phase3_support): who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from phase3test.migrations.runner import apply

VERSION = "20251111000600"

SUPER_ADMIN = "00000000-0000-4000-8000-0000000a0002"
CORA_TICKET = "00000000-0000-4000-8000-0000000ca001"
CARL_TICKET = "00000000-0000-4000-8000-0000000ca002"
CORA_DOCUMENT = "00000000-0000-4000-8000-0000000d0c01"
CUSTOMER_MESSAGE = "00000000-0000-4000-8000-000000060001"
STAFF_REPLY = "00000000-0000-4000-8000-000000060002"
INTERNAL_NOTE = "00000000-0000-4000-8000-000000060003"

# A row each role might try to write, per staff-only table.
STAFF_TABLES = {
    "support_sla": None,  # seeded by the migration: tested with an update instead
    "support_message_recipients": (
        f"(message_id, recipient_id, channel) values ('{STAFF_REPLY}', '00000000-0000-4000-8000-0000000c0001', 'sms')"
    ),
    "support_templates": "(name, body) values ('Refund issued', 'Your refund is on its way.')",
    "insurance_activity": f"(insurance_document_id, action) values ('{CORA_DOCUMENT}', 'note')",
    "insurance_reminders": (
        f"(insurance_document_id, kind, scheduled_for) values ('{CORA_DOCUMENT}', 'expiry', '2026-01-01 09:00+00')"
    ),
}


def post(conn: psycopg.Connection, ticket: str, author: str, internal: bool = False) -> None:
    conn.execute(
        "insert into public.support_messages (ticket_id, author_id, body, is_internal) values (%s, %s, 'Hello', %s)",
        (ticket, author, internal),
    )


@pytest.fixture
def carls_ticket(rows, people):
    rows.execute(
        "insert into public.support_tickets (id, customer_id, subject, body) values (%s, %s, 'Lift', 'Wobbles')",
        (CARL_TICKET, people.other_customer),
    )
    return CARL_TICKET


# support_messages -------------------------------------------------------------


def test_customers_read_their_tickets_messages_but_not_internal_notes(rows, act, ids):
    act("customer")
    assert ids(rows, "support_messages") == {CUSTOMER_MESSAGE, STAFF_REPLY}


def test_customers_do_not_read_other_customers_messages(rows, act, ids):
    act("other_customer")
    assert ids(rows, "support_messages") == set()


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_read_every_message_including_internal_notes(rows, act, ids, who):
    act(who)
    assert ids(rows, "support_messages") == {CUSTOMER_MESSAGE, STAFF_REPLY, INTERNAL_NOTE}


@pytest.mark.parametrize("who", ["finance", "marketing", "security", "pricing_service"])
def test_other_staff_roles_neither_read_nor_post_messages(rows, act, refused, ids, people, who):
    act(who)
    assert ids(rows, "support_messages") == set()
    assert refused(
        rows,
        "insert into public.support_messages (ticket_id, author_id, body) values (%s, %s, 'Hi')",
        (CORA_TICKET, getattr(people, who)),
    )


def test_customers_post_on_their_own_tickets(rows, act, ids, people):
    act("customer")
    post(rows, CORA_TICKET, people.customer)
    assert len(ids(rows, "support_messages")) == 3


def test_customers_cannot_post_on_other_customers_tickets(rows, act, refused, people, carls_ticket):
    act("customer")
    assert refused(
        rows,
        "insert into public.support_messages (ticket_id, author_id, body) values (%s, %s, 'Hi')",
        (carls_ticket, people.customer),
    )


def test_customers_cannot_post_internal_notes_or_in_someone_elses_name(rows, act, refused, people):
    act("customer")
    assert refused(
        rows,
        "insert into public.support_messages (ticket_id, author_id, body, is_internal) values (%s, %s, 'Hi', true)",
        (CORA_TICKET, people.customer),
    )
    assert refused(
        rows,
        "insert into public.support_messages (ticket_id, author_id, body) values (%s, %s, 'Hi')",
        (CORA_TICKET, people.admin),
    )


def test_customers_cannot_edit_or_delete_messages(rows, act):
    act("customer")
    assert rows.execute("update public.support_messages set body = 'changed'").rowcount == 0
    assert rows.execute("delete from public.support_messages").rowcount == 0


def test_admins_post_internal_notes_on_any_ticket(rows, act, ids, people, carls_ticket):
    act("admin")
    post(rows, carls_ticket, people.admin, internal=True)
    act("other_customer")
    assert ids(rows, "support_messages") == set()


def test_an_empty_message_is_rejected(rows):
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute(
            "insert into public.support_messages (ticket_id, author_id, body) values (%s, %s, '  ')",
            (CORA_TICKET, "00000000-0000-4000-8000-0000000c0001"),
        )


# Staff tables: admins only ---------------------------------------------------------


@pytest.mark.parametrize("table", sorted(STAFF_TABLES))
@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_read_and_write_staff_tables(rows, act, count, table, who):
    act(who)
    before = count(rows, f"public.{table}")
    assert before >= 1
    if STAFF_TABLES[table] is None:
        assert rows.execute(f"update public.{table} set updated_at = now()").rowcount == before
    else:
        rows.execute(f"insert into public.{table} {STAFF_TABLES[table]}")
        assert count(rows, f"public.{table}") == before + 1


@pytest.mark.parametrize("table", sorted(STAFF_TABLES))
@pytest.mark.parametrize("who", ["customer", "finance", "marketing", "security", "pricing_service"])
def test_other_roles_neither_read_nor_write_staff_tables(rows, act, count, refused, table, who):
    act(who)
    assert count(rows, f"public.{table}") == 0
    if STAFF_TABLES[table] is None:
        assert refused(
            rows,
            f"insert into public.{table} (priority, first_response_within, resolution_within)"
            " values ('urgent', '1 minute', '1 minute')",
        )
    else:
        assert refused(rows, f"insert into public.{table} {STAFF_TABLES[table]}")


def test_sla_targets_are_one_per_priority(db):
    assert dict(db.execute("select priority, first_response_within from public.support_sla").fetchall()) == {
        "urgent": timedelta(hours=1),
        "high": timedelta(hours=4),
        "normal": timedelta(hours=24),
        "low": timedelta(hours=72),
    }
    with pytest.raises(psycopg.errors.UniqueViolation), db.transaction():
        db.execute(
            "insert into public.support_sla (priority, first_response_within, resolution_within)"
            " values ('urgent', '2 hours', '8 hours')"
        )


def test_a_reminder_is_scheduled_only_once(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.insurance_reminders (insurance_document_id, kind, scheduled_for)"
            " values (%s, 'missing_info', '2025-10-04 09:00+00')",
            (CORA_DOCUMENT,),
        )


def test_named_indexes_exist(db, index_defs):
    indexes = index_defs(db)
    assert indexes["support_messages_ticket_created_at_idx"].endswith("(ticket_id, created_at)")
    assert indexes["insurance_activity_document_created_at_idx"].endswith("(insurance_document_id, created_at)")


# New tickets: customers open them, staff triage them; SLA due dates come from support_sla

OPEN_TICKET = "insert into public.support_tickets (customer_id, subject, body{}) values (%s, 'Help', 'Please'{})"

# What a customer might try to set on a ticket they open: each one is staff's.
STAFF_FIELDS = {
    "status": "'resolved'",
    "assigned_to": f"'{SUPER_ADMIN}'",
    "sla_breached": "true",
    "first_responded_at": "now()",
    "first_response_due_at": "'2099-01-01 00:00+00'",
    "resolution_due_at": "'2099-01-01 00:00+00'",
    # Due dates are counted from created_at: a customer does not move it either.
    "created_at": "'2099-01-01 00:00+00'",
}


def open_ticket(conn: psycopg.Connection, customer: str, **fields: str) -> str:
    """Insert a ticket for `customer` with `fields` as SQL literals; return its id."""
    columns = "".join(f", {name}" for name in fields)
    values = "".join(f", {value}" for value in fields.values())
    return conn.execute(OPEN_TICKET.format(columns, values) + " returning id::text", (customer,)).fetchone()[0]


def ticket(conn: psycopg.Connection, ticket_id: str) -> dict:
    cursor = conn.execute(
        "select status, priority, assigned_to::text, sla_breached, first_responded_at, created_at,"
        " first_response_due_at, resolution_due_at from public.support_tickets where id = %s",
        (ticket_id,),
    )
    return dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))


def test_customers_cannot_open_a_ticket_already_resolved_assigned_breached_and_due_in_2099(rows, act, people):
    act("customer")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only staff"), rows.transaction():
        open_ticket(rows, people.customer, priority="'urgent'", **STAFF_FIELDS)


@pytest.mark.parametrize("field", sorted(STAFF_FIELDS))
@pytest.mark.parametrize("who", ["customer", "finance"])
def test_non_admins_cannot_set_staff_fields_on_a_ticket_they_open(rows, act, people, who, field):
    act(who)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=field), rows.transaction():
        open_ticket(rows, getattr(people, who), **{field: STAFF_FIELDS[field]})


def test_customers_cannot_open_urgent_tickets_only_staff_escalate_to_urgent(rows, act, people):
    act("customer")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="priority"), rows.transaction():
        open_ticket(rows, people.customer, priority="'urgent'")


@pytest.mark.parametrize("priority", ["low", "normal", "high"])
def test_customers_may_open_low_normal_or_high_tickets_with_due_dates_from_the_sla(rows, act, people, priority):
    act("customer")
    opened = ticket(rows, open_ticket(rows, people.customer, priority=f"'{priority}'"))
    created = opened["created_at"]
    assert opened == {
        "status": "open",
        "priority": priority,
        "assigned_to": None,
        "sla_breached": False,
        "first_responded_at": None,
        "created_at": created,
        "first_response_due_at": created + DUE[priority][0],
        "resolution_due_at": created + DUE[priority][1],
    }


def test_a_customers_ticket_opened_with_explicit_defaults_is_accepted(rows, act, people):
    act("customer")
    opened = open_ticket(rows, people.customer, status="'open'", sla_breached="false", assigned_to="null")
    assert ticket(rows, opened)["resolution_due_at"] is not None


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_open_triaged_tickets_and_due_dates_are_filled_in_when_missing(rows, act, people, who):
    act(who)
    opened = ticket(
        rows,
        open_ticket(
            rows,
            people.customer,
            priority="'urgent'",
            status="'pending'",
            assigned_to=f"'{people.admin}'",
            created_at="'2025-10-01 08:00+00'",
        ),
    )
    assert (opened["status"], opened["priority"], opened["assigned_to"]) == ("pending", "urgent", people.admin)
    assert opened["first_response_due_at"] == opened["created_at"] + DUE["urgent"][0]
    assert opened["resolution_due_at"] == datetime(2025, 10, 1, 12, tzinfo=UTC)


def test_due_dates_given_by_staff_or_the_service_role_are_kept(rows, as_role, people):
    for role, user in (("authenticated", people.admin), ("service_role", None)):
        as_role(rows, role, user=user)
        opened = ticket(
            rows,
            open_ticket(rows, people.customer, first_response_due_at="'2025-12-01 00:00+00'"),
        )
        assert opened["first_response_due_at"] == datetime(2025, 12, 1, tzinfo=UTC)
        assert opened["resolution_due_at"] == opened["created_at"] + DUE["normal"][1]


def test_customers_have_no_update_on_their_own_tickets_so_cannot_change_staff_fields(rows, act, people):
    # The baseline gives customers no update policy on support_tickets: the
    # update matches no row, whatever it sets.
    before = ticket(rows, CORA_TICKET)
    act("customer")
    updated = rows.execute(
        "update public.support_tickets set status = 'resolved', priority = 'urgent', assigned_to = %s,"
        " sla_breached = true, resolution_due_at = '2099-01-01 00:00+00' where id = %s",
        (people.super_admin, CORA_TICKET),
    ).rowcount
    assert updated == 0
    assert ticket(rows, CORA_TICKET) == before


def test_the_sla_lookup_runs_only_as_the_ticket_trigger(db):
    functions = db.execute(
        "select p.proname, p.prosecdef, p.proconfig,"
        " has_function_privilege('anon', p.oid, 'execute'),"
        " has_function_privilege('authenticated', p.oid, 'execute'),"
        " has_function_privilege('service_role', p.oid, 'execute')"
        " from pg_trigger t join pg_proc p on p.oid = t.tgfoid"
        " where t.tgrelid = 'public.support_tickets'::regclass and not t.tgisinternal order by t.tgname"
    ).fetchall()
    assert functions == [
        ("follow_support_ticket_priority", True, ['search_path=""'], False, False, False),
        ("guard_support_ticket_staff_fields", False, ['search_path=""'], False, False, False),
        ("set_support_ticket_sla_due_dates", True, ['search_path=""'], False, False, False),
    ]


# Insurance documents: requested information -------------------------------------------


def test_customers_see_the_information_requested_on_their_own_documents(rows, act):
    act("customer")
    assert rows.execute("select requested_info from public.insurance_documents").fetchall() == [
        ("Please upload the page listing the policy limits.",)
    ]
    act("other_customer")
    assert rows.execute("select requested_info from public.insurance_documents").fetchall() == []


INSURANCE_UPLOAD = (
    "insert into public.insurance_documents (customer_id, document_type, storage_path, {column})"
    " values (%s, 'liability', 'insurance/new.pdf', %s)"
)
STAFF_ASKS = {
    "requested_info": "Please add page 2.",
    "info_requested_at": "2025-11-20",
    "info_provided_at": "2025-11-21",
}


@pytest.mark.parametrize("column", STAFF_ASKS)
def test_a_customer_cannot_upload_a_document_with_the_information_already_requested(rows, act, refused, people, column):
    act("customer")
    assert refused(rows, INSURANCE_UPLOAD.format(column=column), (people.customer, STAFF_ASKS[column]))
    rows.execute(INSURANCE_UPLOAD.format(column=column), (people.customer, None))  # left empty: accepted


def test_an_admin_asks_for_information_on_a_new_document(rows, act, people):
    act("admin")
    rows.execute(INSURANCE_UPLOAD.format(column="requested_info"), (people.customer, STAFF_ASKS["requested_info"]))


# Backfill: SLA due dates of existing tickets -----------------------------------------

CREATED = datetime(2025, 1, 1, 8, tzinfo=UTC)
# (priority, status, created_at): the baseline ticket ca001 is normal, open and created just now.
OLD_TICKETS = {
    "00000000-0000-4000-8000-00000006b001": ("urgent", "open", CREATED),
    "00000000-0000-4000-8000-00000006b002": ("high", "pending", CREATED),
    "00000000-0000-4000-8000-00000006b003": ("low", "resolved", CREATED),
}
DUE = {  # first response, resolution
    "urgent": (timedelta(hours=1), timedelta(hours=4)),
    "high": (timedelta(hours=4), timedelta(hours=24)),
    "normal": (timedelta(hours=24), timedelta(hours=72)),
    "low": (timedelta(hours=72), timedelta(days=7)),
}


def test_existing_tickets_get_sla_due_dates_from_their_priority(empty_db, migrate_just_before, people):
    mine = migrate_just_before(VERSION)
    with empty_db.transaction():
        for ticket, (priority, status, created_at) in OLD_TICKETS.items():
            empty_db.execute(
                "insert into public.support_tickets (id, customer_id, subject, body, priority, status, created_at)"
                " values (%s, %s, 'Old', 'Old', %s, %s, %s)",
                (ticket, people.customer, priority, status, created_at),
            )
    apply(empty_db, mine)

    tickets = {
        r[0]: r[1:]
        for r in empty_db.execute(
            "select id::text, priority, created_at, first_response_due_at, resolution_due_at, first_responded_at,"
            " sla_breached from public.support_tickets"
        ).fetchall()
    }
    assert len(tickets) == 4
    for priority, created_at, first_due, resolution_due, responded, _ in tickets.values():
        assert (first_due - created_at, resolution_due - created_at) == DUE[priority]
        assert responded is None
    breached = {ticket for ticket, values in tickets.items() if values[-1]}
    # Open or pending past the resolution target: breached. Resolved, or still within it: not.
    assert breached == {"00000000-0000-4000-8000-00000006b001", "00000000-0000-4000-8000-00000006b002"}

    # Running the file again leaves due dates already set alone.
    empty_db.execute("update public.support_tickets set resolution_due_at = %s, sla_breached = false", (CREATED,))
    with empty_db.transaction():
        empty_db.execute(mine.text)
    assert empty_db.execute(
        "select count(*) from public.support_tickets where resolution_due_at = %s and not sla_breached", (CREATED,)
    ).fetchone() == (4,)
