"""Equipment media, maintenance and telematics (20251111000300_phase3_equipment): who may do what."""

from __future__ import annotations

import re
from decimal import Decimal

import psycopg
import pytest

from phase3test.migrations.discovery import rollback_for
from phase3test.migrations.runner import MigrationError, apply, revert
from phase3test.supabase.prelude import STORAGE_API_DELETES

VERSION = "20251111000300"

EXCAVATOR = "00000000-0000-4000-8000-00000000e001"
LIFT = "00000000-0000-4000-8000-00000000e002"
EXCAVATOR_PHOTO = "00000000-0000-4000-8000-000000e3d001"
MAINTENANCE_LOG = "00000000-0000-4000-8000-000000e31001"

# A row each role might try to write, per admin-only table.
NEW_ROW = {
    "maintenance_logs": f"(equipment_id, kind, summary) values ('{EXCAVATOR}', 'inspection', 'Walk-around')",
    "maintenance_parts": f"(maintenance_log_id, part_number, unit_cost) values ('{MAINTENANCE_LOG}', 'OIL-5L', 42)",
    "maintenance_alerts": f"(equipment_id, alert_type, message) values ('{LIFT}', 'calendar', 'Annual inspection')",
}


# equipment_media ------------------------------------------------------------


@pytest.mark.parametrize("who", ["customer", "other_customer", "finance", "admin"])
def test_signed_in_users_see_equipment_media(rows, act, who):
    act(who)
    assert rows.execute("select id::text from public.equipment_media").fetchall() == [(EXCAVATOR_PHOTO,)]


def test_anon_sees_no_equipment_media(rows, refused, as_role):
    as_role(rows, "anon")
    assert refused(rows, "select count(*) from public.equipment_media")  # granted nothing: refused outright


def test_only_admins_add_equipment_media(rows, act, count, refused):
    insert = (
        f"insert into public.equipment_media (equipment_id, storage_path, media_type) values ('{LIFT}', %s, 'image')"
    )
    act("customer")
    assert refused(rows, insert, ("lift/customer.jpg",))
    act("marketing")
    assert refused(rows, insert, ("lift/marketing.jpg",))
    act("admin")
    rows.execute(insert, ("lift/admin.jpg",))
    assert count(rows, "public.equipment_media where storage_path = 'lift/admin.jpg'") == 1


def test_customers_cannot_delete_equipment_media(rows, act, count):
    act("customer")
    assert rows.execute("delete from public.equipment_media").rowcount == 0
    act("admin")
    assert count(rows, "public.equipment_media") == 1


# equipment's new columns ------------------------------------------------------


def test_deleting_the_primary_photo_clears_it_on_the_equipment(rows, count):
    rows.execute("delete from public.equipment_media where id = %s", (EXCAVATOR_PHOTO,))
    assert rows.execute("select primary_media_id from public.equipment where id = %s", (EXCAVATOR,)).fetchone() == (
        None,
    )
    assert count(rows, f"public.equipment where id = '{EXCAVATOR}'") == 1


def test_the_primary_photo_must_show_the_same_machine(rows):
    with pytest.raises(psycopg.errors.ForeignKeyViolation), rows.transaction():
        rows.execute("update public.equipment set primary_media_id = %s where id = %s", (EXCAVATOR_PHOTO, LIFT))


# A machine's position is not on equipment: every signed-in user reads every
# equipment row, so the position lives only in telematics_snapshots (admins).
POSITION_COLUMN = re.compile(r"lat|lon|point|position|coord|geo|gps")


def test_customers_cannot_select_a_machines_position_from_equipment(rows, act):
    act("customer")
    with pytest.raises(psycopg.errors.UndefinedColumn), rows.transaction():
        rows.execute("select last_latitude, last_longitude from public.equipment")


def test_no_equipment_column_a_customer_reads_carries_a_position(rows, act):
    act("customer")
    cursor = rows.execute("select * from public.equipment")
    assert len(cursor.fetchall()) == 2
    columns = [c.name for c in cursor.description]
    assert {"last_telematics_at", "total_engine_hours"} <= set(columns)
    assert [c for c in columns if POSITION_COLUMN.search(c)] == []


def test_customers_see_when_a_machine_last_reported_but_not_where(rows, act):
    rows.execute("update public.equipment set last_telematics_at = '2025-10-03 17:00+00' where id = %s", (EXCAVATOR,))
    act("customer")
    assert rows.execute(
        "select total_engine_hours, last_telematics_at is not null from public.equipment where id = %s", (EXCAVATOR,)
    ).fetchone() == (Decimal("1250.5"), True)
    assert rows.execute("select latitude, longitude from public.telematics_snapshots").fetchall() == []
    act("admin")
    assert rows.execute("select latitude, longitude from public.telematics_snapshots").fetchall() == [
        (Decimal("51.507400"), Decimal("-0.127800"))
    ]


def test_maintenance_status_is_one_of_the_named_states(rows):
    assert rows.execute("select maintenance_status from public.equipment where id = %s", (LIFT,)).fetchone() == ("ok",)
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute("update public.equipment set maintenance_status = 'broken' where id = %s", (LIFT,))


def test_named_indexes_exist(db, index_defs):
    indexes = index_defs(db)
    assert indexes["maintenance_logs_equipment_performed_at_idx"].endswith("(equipment_id, performed_at)")
    assert indexes["equipment_primary_media_id_id_idx"].endswith("(primary_media_id, id)")


# maintenance tables: admins only ------------------------------------------------


@pytest.mark.parametrize("table", sorted(NEW_ROW))
@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_read_and_write_maintenance_tables(rows, act, count, table, who):
    act(who)
    assert count(rows, f"public.{table}") == 1
    rows.execute(f"insert into public.{table} {NEW_ROW[table]}")
    assert count(rows, f"public.{table}") == 2


@pytest.mark.parametrize("table", sorted(NEW_ROW))
@pytest.mark.parametrize("who", ["customer", "finance", "marketing", "security", "pricing_service"])
def test_other_roles_neither_read_nor_write_maintenance_tables(rows, act, count, refused, table, who):
    act(who)
    assert count(rows, f"public.{table}") == 0
    assert refused(rows, f"insert into public.{table} {NEW_ROW[table]}")


def test_one_unresolved_alert_per_machine_and_kind(rows):
    duplicate = (
        "insert into public.maintenance_alerts (equipment_id, alert_type, message)"
        f" values ('{EXCAVATOR}', 'engine_hours', 'again')"
    )
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(duplicate)
    rows.execute("update public.maintenance_alerts set status = 'resolved', resolved_at = now()")
    rows.execute(duplicate)


# telematics_snapshots: admins read, only the service role writes ----------------------

TELEMATICS_INSERT = (
    "insert into public.telematics_snapshots (equipment_id, recorded_at, latitude, longitude)"
    f" values ('{LIFT}', '2025-10-04 09:00+00', 51.5, -0.1)"
)


def test_admins_read_telematics_but_cannot_write_it(rows, act, count, refused):
    act("admin")
    assert count(rows, "public.telematics_snapshots") == 1
    assert refused(rows, TELEMATICS_INSERT)
    assert refused(rows, "update public.telematics_snapshots set fuel_level_pct = 1")
    assert refused(rows, "delete from public.telematics_snapshots")


@pytest.mark.parametrize("who", ["customer", "finance", "security"])
def test_other_roles_neither_read_nor_write_telematics(rows, act, count, refused, who):
    act(who)
    assert count(rows, "public.telematics_snapshots") == 0
    assert refused(rows, TELEMATICS_INSERT)


def test_the_service_role_ingests_telematics(rows, count, as_role):
    as_role(rows, "service_role")
    rows.execute(TELEMATICS_INSERT)
    assert count(rows, "public.telematics_snapshots") == 2


# Backfill ---------------------------------------------------------------------


def test_equipment_in_the_workshop_is_backfilled_as_in_service(empty_db, migrate_just_before):
    mine = migrate_just_before(VERSION)
    empty_db.execute("update public.equipment set status = 'maintenance' where id = %s", (LIFT,))
    apply(empty_db, mine)
    statuses = dict(empty_db.execute("select id::text, maintenance_status from public.equipment").fetchall())
    assert statuses == {EXCAVATOR: "ok", LIFT: "in_service"}

    # Running the file again leaves rows already moved on alone.
    empty_db.execute("update public.equipment set maintenance_status = 'out_of_service' where id = %s", (LIFT,))
    with empty_db.transaction():
        empty_db.execute(mine.text)
    assert empty_db.execute("select maintenance_status from public.equipment where id = %s", (LIFT,)).fetchone() == (
        "out_of_service",
    )


# Storage: the equipment-media bucket -------------------------------------------------

OBJECT_INSERT = "insert into storage.objects (bucket_id, name) values (%s, %s)"


def test_the_bucket_is_private_and_takes_only_images_and_video_up_to_a_limit(db):
    public, limit, types = db.execute(
        "select public, file_size_limit, allowed_mime_types from storage.buckets where id = 'equipment-media'"
    ).fetchone()
    assert public is False  # check: phase3.bucket_private
    assert 0 < limit <= 200 * 1024 * 1024
    assert types and all(t.startswith(("image/", "video/")) for t in types)


def test_a_bucket_that_already_exists_public_is_made_private_with_the_limits(empty_db, migrate_just_before):
    mine = migrate_just_before(VERSION, baseline=False)
    empty_db.execute(
        "insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)"
        " values ('equipment-media', 'equipment-media', true, null, array['application/pdf'])"
    )
    apply(empty_db, mine)
    bucket = "select public, file_size_limit, allowed_mime_types from storage.buckets where id = 'equipment-media'"
    expected = (
        False,
        100 * 1024 * 1024,
        ["image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime", "video/webm"],
    )
    assert empty_db.execute(bucket).fetchone() == expected
    # Running the file again keeps converging (and changes nothing more).
    with empty_db.transaction():
        empty_db.execute(mine.text)
    assert empty_db.execute(bucket).fetchone() == expected


def test_only_admins_upload_equipment_media_files(rows, act, count, refused, as_role):
    act("customer")
    assert refused(rows, OBJECT_INSERT, ("equipment-media", "lift/customer.jpg"))
    act("finance")
    assert refused(rows, OBJECT_INSERT, ("equipment-media", "lift/finance.jpg"))
    as_role(rows, "anon")
    assert refused(rows, OBJECT_INSERT, ("equipment-media", "lift/anon.jpg"))
    act("admin")
    rows.execute(OBJECT_INSERT, ("equipment-media", "lift/admin.jpg"))
    rows.execute("reset role")
    assert count(rows, "storage.objects where bucket_id = 'equipment-media'") == 1


def test_admin_upload_rights_stop_at_the_equipment_media_bucket(rows, act, refused):
    rows.execute("insert into storage.buckets (id, name) values ('scratch', 'scratch')")
    act("admin")
    assert refused(rows, OBJECT_INSERT, ("scratch", "admin.jpg"))


def test_signed_in_users_read_equipment_media_files_and_anon_does_not(rows, act, as_role):
    rows.execute("insert into storage.buckets (id, name) values ('scratch', 'scratch')")
    rows.execute(OBJECT_INSERT, ("equipment-media", "excavator/front.jpg"))
    rows.execute(OBJECT_INSERT, ("scratch", "secret.txt"))
    act("customer")
    assert rows.execute("select bucket_id, name from storage.objects").fetchall() == [
        ("equipment-media", "excavator/front.jpg")
    ]
    as_role(rows, "anon")
    assert rows.execute("select count(*) from storage.objects").fetchone() == (0,)


def test_only_admins_change_or_remove_equipment_media_files(rows, act):
    rows.execute(OBJECT_INSERT, ("equipment-media", "excavator/front.jpg"))
    rows.execute(STORAGE_API_DELETES)
    act("customer")
    assert rows.execute("update storage.objects set name = 'excavator/mine.jpg'").rowcount == 0
    assert rows.execute("delete from storage.objects").rowcount == 0
    act("admin")
    assert rows.execute("update storage.objects set name = 'excavator/side.jpg'").rowcount == 1
    assert rows.execute("delete from storage.objects").rowcount == 1


def test_rollback_refuses_while_the_bucket_holds_files(empty_db, count, migrate_just_before, supabase_project):
    mine = migrate_just_before(VERSION, baseline=False)
    apply(empty_db, mine)
    empty_db.execute(OBJECT_INSERT, ("equipment-media", "excavator/front.jpg"))
    rollback = rollback_for(mine, supabase_project.rollbacks_dir)

    with pytest.raises(MigrationError, match="still holds 1 object"):
        revert(empty_db, rollback)
    assert empty_db.execute("select to_regclass('public.equipment_media') is not null").fetchone() == (True,)
    assert count(empty_db, "storage.buckets where id = 'equipment-media'") == 1

    with empty_db.transaction():
        empty_db.execute(STORAGE_API_DELETES)
        empty_db.execute("delete from storage.objects where bucket_id = 'equipment-media'")
    revert(empty_db, rollback)
    assert count(empty_db, "storage.buckets where id = 'equipment-media'") == 0
    assert count(empty_db, "pg_policies where schemaname = 'storage' and policyname like 'equipment_media%'") == 0
