"""The audit & security seeder: a log that tells of the seeded rows, and staff data that obeys the migration's rules."""

from __future__ import annotations

import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.phase3.audit_security import AuditSecuritySeeder
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.users import UsersSeeder

TABLES = AuditSecuritySeeder.tables
TARGETS = (
    "bookings",
    "payments",
    "users",
    "admin_sessions",
    "admin_invites",
    "secret_store",
    "settings_change_requests",
    "security_incidents",
)


def seeders():
    return plan([UsersSeeder(), BaselineSeeder(), AuditSecuritySeeder()])


_TARGET_ROWS = "\n union all ".join(
    f"select created_at from public.{table} where e.target_table = '{table}' and id = e.target_id::uuid"
    for table in TARGETS
)

# Each query returns (violations, rows considered).
INVARIANTS = {
    "actor role is not the actor's role": """
        select count(*) filter (where e.actor_role is distinct from u.role), count(*)
          from public.audit_events e join public.users u on u.id = e.actor_id""",
    "event without an actor claims a user's role": """
        select count(*) filter (where actor_role is not null and actor_role <> 'service_role'), count(*)
          from public.audit_events where actor_id is null""",
    "event on a missing target, before the target was made, or after the reference time": f"""
        select count(*) filter (where t.created_at is null or e.occurred_at < t.created_at
                                   or e.occurred_at > %(ref)s or e.created_at <> e.occurred_at),
               count(*)
          from public.audit_events e
          left join lateral ({_TARGET_ROWS}) t on true""",
    "session without exactly one sign-in event at its start, by its user, from its address": """
        select count(*) filter (where (select count(*) from public.audit_events e
                                         where e.action = 'auth.sign_in' and e.target_id = s.id::text
                                           and e.occurred_at = s.created_at and e.actor_id = s.user_id
                                           and e.ip_address = s.ip_address) <> 1),
               count(*)
          from public.admin_sessions s""",
    "tag before its event, after the reference time, or by someone not in security": """
        select count(*) filter (where t.created_at < e.occurred_at or t.created_at > %(ref)s
                                   or (t.created_by is not null and u.role is distinct from 'security')),
               count(*)
          from public.audit_event_tags t
          join public.audit_events e on e.id = t.event_id
          left join public.users u on u.id = t.created_by""",
    "event without the tag of its area": """
        select count(*) filter (where not exists (select 1 from public.audit_event_tags t
                                                   where t.event_id = e.id and t.tag = split_part(e.action, '.', 1))),
               count(*)
          from public.audit_events e""",
    "incident's dates, assignee or event disagree with it": """
        select count(*) filter (where not coalesce(
                 (i.status in ('resolved', 'closed')) = (i.resolved_at is not null)
                 and i.detected_at <= coalesce(i.resolved_at, i.detected_at)
                 and coalesce(i.resolved_at, i.detected_at) <= %(ref)s
                 and i.created_at = i.detected_at and i.updated_at between i.created_at and %(ref)s
                 and a.role = 'security'
                 and (i.audit_event_id is null
                      or (e.action = 'auth.sign_in_failed' and e.severity in ('warning', 'critical')
                          and e.occurred_at <= i.detected_at)), false)),
               count(*) filter (where i.audit_event_id is not null)
          from public.security_incidents i
          join public.users a on a.id = i.assigned_to
          left join public.audit_events e on e.id = i.audit_event_id""",
    "invite's status disagrees with its expiry, acceptance or inviter": """
        select count(*) filter (where not coalesce(
                 case i.status
                   when 'pending' then i.expires_at > %(ref)s and i.accepted_by is null and i.accepted_at is null
                   when 'expired' then i.expires_at <= %(ref)s and i.accepted_by is null
                   when 'revoked' then i.accepted_by is null
                   when 'accepted' then a.role = i.role and a.email = i.email and a.created_at <= i.accepted_at
                        and i.accepted_at between i.created_at and i.expires_at
                 end
                 and i.expires_at = i.created_at + interval '7 days' and i.created_at <= %(ref)s
                 and inv.role in ('admin', 'super_admin') and (i.role <> 'super_admin' or inv.role = 'super_admin')
                 and i.invited_by is distinct from i.accepted_by, false)),
               count(*) filter (where i.status = 'accepted')
          from public.admin_invites i
          join public.users inv on inv.id = i.invited_by
          left join public.users a on a.id = i.accepted_by""",
    "session of a non-console user, seen while invalid, or revoked by a lower rank": """
        select count(*) filter (where not coalesce(
                 u.role not in ('customer', 'pricing_service')
                 and s.created_at <= s.last_seen_at
                 and s.last_seen_at <= least(s.expires_at, s.revoked_at, %(ref)s)
                 and (s.revoked_at is null) = (s.revoked_by is null)
                 and (s.revoked_by is null
                      or (r.role in ('admin', 'super_admin') and (u.role <> 'super_admin' or r.role = 'super_admin')
                          and s.revoked_at between s.created_at and least(s.expires_at, %(ref)s)))
                 and (not s.two_factor_verified or u.two_factor_enabled), false)),
               count(*) filter (where s.revoked_by is not null)
          from public.admin_sessions s
          join public.users u on u.id = s.user_id
          left join public.users r on r.id = s.revoked_by""",
    "secret's nonce, rotation or creator disagree": """
        select count(*) filter (where not coalesce(
                 octet_length(s.nonce) = case s.algorithm when 'aes-256-gcm' then 12 else 24 end
                 and octet_length(s.ciphertext) > 16
                 and (s.key_version > 1) = (s.rotated_at is not null)
                 and coalesce(s.rotated_at between s.created_at and %(ref)s, true)
                 and s.updated_at = coalesce(s.rotated_at, s.created_at)
                 and u.role = 'super_admin', false)),
               count(*) filter (where s.rotated_at is not null)
          from public.secret_store s join public.users u on u.id = s.created_by""",
    "applied changes do not chain up to the setting's value": """
        with applied as (
          select r.*, lag(r.proposed_value) over w as before,
                 row_number() over (partition by r.setting_key order by r.applied_at desc) as from_last
            from public.settings_change_requests r
           where r.status = 'applied'
          window w as (partition by r.setting_key order by r.applied_at))
        select count(*) filter (where (a.before is not null and a.previous_value <> a.before)
                                   or (a.from_last = 1 and a.proposed_value <> s.value)
                                   or (a.from_last = 1 and a.applied_at > s.updated_at)
                                   or a.proposed_value = a.previous_value),
               count(*)
          from applied a join public.system_settings s on s.key = a.setting_key""",
    "request under way that does not start from the setting's value": """
        select count(*) filter (where r.previous_value <> s.value or r.proposed_value = s.value), count(*)
          from public.settings_change_requests r join public.system_settings s on s.key = r.setting_key
         where r.status in ('pending', 'approved')""",
    "request's review and application disagree with its status": """
        select count(*) filter (where not coalesce(
                 case r.status
                   when 'pending' then r.reviewed_at is null and r.applied_at is null
                   when 'cancelled' then r.reviewed_at is null and r.applied_at is null
                   when 'applied' then r.applied_at > r.reviewed_at and r.reviewed_at > r.created_at
                   else r.applied_at is null and r.reviewed_at > r.created_at end
                 and (r.status = 'cancelled' or r.updated_at = greatest(r.created_at, r.reviewed_at, r.applied_at))
                 and r.updated_at between r.created_at and %(ref)s
                 and rq.role in ('admin', 'super_admin')
                 and (r.reviewed_by is null or rv.role in ('admin', 'super_admin')), false)),
               count(*) filter (where r.status = 'applied')
          from public.settings_change_requests r
          join public.users rq on rq.id = r.requested_by
          left join public.users rv on rv.id = r.reviewed_by""",
    "a setting's next request filed before the last one was settled": """
        select count(*) filter (where next_created <= updated_at), count(*)
          from (select updated_at, lead(created_at) over (partition by setting_key order by created_at) as next_created
                  from public.settings_change_requests) requests
         where next_created is not null""",
    "booking event by the wrong person or at the wrong time": """
        select count(*) filter (where not coalesce(case e.action
                 when 'booking.cancelled' then b.status = 'cancelled' and e.actor_id = b.customer_id
                      and e.occurred_at < b.starts_at
                 when 'booking.checked_out' then b.status in ('active', 'completed') and e.occurred_at >= b.starts_at
                      and e.actor_role in ('admin', 'super_admin')
                 when 'booking.returned' then b.status = 'completed' and e.occurred_at >= b.ends_at
                      and e.actor_role in ('admin', 'super_admin')
                 end, false)),
               count(*)
          from public.audit_events e join public.bookings b on b.id = e.target_id::uuid
         where e.target_table = 'bookings'""",
}
# At scale 1 no session may have been revoked and no secret rotated; scale 5 must have both.
MAY_BE_EMPTY_AT_SCALE_1 = {
    "session of a non-console user, seen while invalid, or revoked by a lower rank",
    "secret's nonce, rotation or creator disagree",
}


@pytest.mark.parametrize("scale", [1, 5])
def test_every_table_is_filled_and_invariants_hold(fresh_db, scale):
    with fresh_db.transaction(force_rollback=True):
        report = seed(fresh_db, seeders(), seed=scale, scale=scale)
        results = {
            name: fresh_db.execute(query, {"ref": REFERENCE_TIME}).fetchone() for name, query in INVARIANTS.items()
        }
        settings = fresh_db.execute(
            "select count(distinct setting_key) from public.settings_change_requests where status = 'applied'"
        ).fetchone()[0]
    filled = report.results[-1].tables
    assert set(filled) == set(TABLES) and all(filled.values()), filled
    assert settings == 3, "every baseline setting has a history of applied changes"
    assert {name: violations for name, (violations, _) in results.items()} == dict.fromkeys(INVARIANTS, 0)
    empty = {name for name, (_, considered) in results.items() if not considered}
    assert empty <= (MAY_BE_EMPTY_AT_SCALE_1 if scale == 1 else set()), f"nothing to check: {empty}"
