"""A deterministic snapshot of everything a migration can change, and a readable diff of two.

Read from one database's catalog: tables and columns, constraints, indexes,
RLS, policies, functions, triggers, views, grants, default privileges,
sequences, types, extensions, publications and storage buckets. Every object
has a stable key (names, never oids) and a few properties, so two databases
built the same way compare equal and a migration followed by its rollback can
be checked against where it started. Data is not schema: current sequence
values, rows and a materialized view's populated flag are left out, and so is
the migration history schema.

Everything is read with `search_path = pg_catalog`, so the text Postgres
renders (defaults, view and index definitions) qualifies every name the same
way whatever the caller's session looks like.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

Properties = dict[str, Any]


def not_extension_member(catalog: str, oid: str) -> str:
    """SQL: the object `oid` (of system catalog `catalog`) is not part of an extension; extensions own
    and secure what they create, so neither snapshots nor security checks look at it."""
    return (
        f"not exists (select from pg_depend e where e.classid = '{catalog}'::regclass "
        f"and e.objid = {oid} and e.deptype = 'e')"
    )


SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "supabase_migrations")

# Children (their `on` property names a parent) are summarised under a parent
# that was added or removed as a whole, instead of listed one by one.
PARENTS = ("schema", "table", "view", "materialized view", "sequence", "function")

_ROLE = "coalesce(quote_ident(r.rolname), 'public')"  # aclexplode's grantee 0 is PUBLIC

# Views and materialized views; whether a materialized view is populated is data.
_VIEWS = f"""
        select format('%%I.%%I', n.nspname, c.relname) as key,
               pg_get_userbyid(c.relowner) as owner,
               pg_get_viewdef(c.oid) as definition,
               array(select o from unnest(c.reloptions) o order by o collate "C") as options,
               obj_description(c.oid, 'pg_class') as comment
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any (%(schemas)s) and c.relkind = %(relkind)s
           and {not_extension_member("pg_class", "c.oid")}"""
_RELKINDS = {"view": "v", "materialized view": "m"}

_QUERIES: dict[str, str] = {
    "schema": """
        select quote_ident(n.nspname) as key, pg_get_userbyid(n.nspowner) as owner
          from pg_namespace n where n.nspname = any (%(schemas)s)""",
    "extension": """
        select quote_ident(e.extname) as key, e.extversion as version, quote_ident(n.nspname) as schema
          from pg_extension e join pg_namespace n on n.oid = e.extnamespace""",
    "table": f"""
        select format('%%I.%%I', n.nspname, c.relname) as key,
               case c.relkind when 'p' then 'partitioned table' else 'table' end as kind,
               pg_get_userbyid(c.relowner) as owner,
               c.relrowsecurity as rls_enabled,
               c.relforcerowsecurity as rls_forced,
               c.relpersistence = 'u' as unlogged,
               array(select o from unnest(c.reloptions) o order by o collate "C") as options,
               case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as partition_key,
               (select format('%%I.%%I %%s', pn.nspname, pc.relname, pg_get_expr(c.relpartbound, c.oid))
                  from pg_inherits i join pg_class pc on pc.oid = i.inhparent
                  join pg_namespace pn on pn.oid = pc.relnamespace
                 where i.inhrelid = c.oid and c.relispartition) as partition_of,
               obj_description(c.oid, 'pg_class') as comment,
               array(select quote_ident(a.attname) from pg_attribute a
                      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                      order by a.attnum) as columns_order
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any (%(schemas)s) and c.relkind in ('r', 'p')
           and {not_extension_member("pg_class", "c.oid")}""",
    "column": f"""
        select format('%%I.%%I.%%I', n.nspname, c.relname, a.attname) as key,
               format('%%I.%%I', n.nspname, c.relname) as "on",
               format_type(a.atttypid, a.atttypmod) as type,
               a.attnotnull as not_null,
               case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end as "default",
               case a.attidentity when 'a' then 'always' when 'd' then 'by default' end as identity,
               case when a.attgenerated <> '' then pg_get_expr(d.adbin, d.adrelid) end as generated,
               case when a.attcollation <> t.typcollation then
                 (select quote_ident(co.collname) from pg_collation co where co.oid = a.attcollation) end
                 as collation,
               col_description(c.oid, a.attnum) as comment
          from pg_attribute a join pg_class c on c.oid = a.attrelid
          join pg_namespace n on n.oid = c.relnamespace join pg_type t on t.oid = a.atttypid
          left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where n.nspname = any (%(schemas)s) and c.relkind in ('r', 'p')
           and a.attnum > 0 and not a.attisdropped
           and {not_extension_member("pg_class", "c.oid")}""",
    # NOT NULL is the column's not_null (Postgres 18 also lists it here, as contype 'n').
    "constraint": f"""
        select format('%%I on %%I.%%I', co.conname, n.nspname, c.relname) as key,
               format('%%I.%%I', n.nspname, c.relname) as "on",
               pg_get_constraintdef(co.oid) as definition
          from pg_constraint co join pg_class c on c.oid = co.conrelid
          join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any (%(schemas)s) and co.contype <> 'n'
           and {not_extension_member("pg_class", "c.oid")}""",
    "index": f"""
        select format('%%I.%%I', n.nspname, i.relname) as key,
               format('%%I.%%I', n.nspname, c.relname) as "on",
               pg_get_indexdef(x.indexrelid) as definition
          from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
          join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any (%(schemas)s)
           and {not_extension_member("pg_class", "c.oid")}""",
    "policy": """
        select format('%%I on %%I.%%I', p.polname, n.nspname, c.relname) as key,
               format('%%I.%%I', n.nspname, c.relname) as "on",
               case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
                             when 'd' then 'DELETE' else 'ALL' end as command,
               array(select coalesce(quote_ident(r.rolname), 'public')
                       from unnest(p.polroles) g left join pg_roles r on r.oid = g
                      order by coalesce(quote_ident(r.rolname), 'public') collate "C") as roles,
               p.polpermissive as permissive,
               pg_get_expr(p.polqual, p.polrelid) as "using",
               pg_get_expr(p.polwithcheck, p.polrelid) as with_check
          from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any (%(schemas)s)""",
    "trigger": """
        select format('%%I on %%I.%%I', t.tgname, n.nspname, c.relname) as key,
               format('%%I.%%I', n.nspname, c.relname) as "on",
               pg_get_triggerdef(t.oid) as definition,
               case t.tgenabled when 'O' then 'origin' when 'D' then 'disabled'
                                when 'R' then 'replica' else 'always' end as enabled
          from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any (%(schemas)s) and not t.tgisinternal and t.tgparentid = 0""",
    "view": _VIEWS,
    "materialized view": _VIEWS,
    # The body is a digest: a diff says it changed, the migration file says how.
    "function": f"""
        select format('%%I.%%I(%%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)) as key,
               case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate'
                              when 'w' then 'window' else 'function' end as kind,
               pg_get_function_arguments(p.oid) as arguments,
               pg_get_function_result(p.oid) as result,
               l.lanname as language,
               md5(coalesce(pg_get_function_sqlbody(p.oid), p.prosrc)) as body,
               case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end
                 as volatility,
               p.proisstrict as strict,
               p.prosecdef as security_definer,
               p.proleakproof as leakproof,
               case p.proparallel when 's' then 'safe' when 'r' then 'restricted' else 'unsafe' end as parallel,
               array(select s from unnest(p.proconfig) s order by s collate "C") as config,
               pg_get_userbyid(p.proowner) as owner
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
         where n.nspname = any (%(schemas)s)
           and {not_extension_member("pg_proc", "p.oid")}""",
    "sequence": f"""
        select format('%%I.%%I', n.nspname, c.relname) as key,
               owner_col."on", owner_col.owned_by,
               format_type(s.seqtypid, null) as type,
               s.seqstart as start, s.seqincrement as increment, s.seqmin as min, s.seqmax as max,
               s.seqcache as cache, s.seqcycle as cycle,
               pg_get_userbyid(c.relowner) as owner
          from pg_sequence s join pg_class c on c.oid = s.seqrelid join pg_namespace n on n.oid = c.relnamespace
          left join lateral (
                select format('%%I.%%I', tn.nspname, tc.relname) as "on", quote_ident(a.attname) as owned_by
                  from pg_depend d join pg_class tc on tc.oid = d.refobjid
                  join pg_namespace tn on tn.oid = tc.relnamespace
                  join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                 where d.classid = 'pg_class'::regclass and d.objid = c.oid
                   and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')) owner_col on true
         where n.nspname = any (%(schemas)s)
           and {not_extension_member("pg_class", "c.oid")}""",
    "enum": f"""
        select format('%%I.%%I', n.nspname, t.typname) as key,
               array(select l.enumlabel from pg_enum l where l.enumtypid = t.oid order by l.enumsortorder)
                 as labels
          from pg_type t join pg_namespace n on n.oid = t.typnamespace
         where n.nspname = any (%(schemas)s) and t.typtype = 'e'
           and {not_extension_member("pg_type", "t.oid")}""",
    "domain": f"""
        select format('%%I.%%I', n.nspname, t.typname) as key,
               format_type(t.typbasetype, t.typtypmod) as type,
               t.typnotnull as not_null,
               t.typdefault as "default",
               array(select format('%%I: %%s', co.conname, pg_get_constraintdef(co.oid))
                       from pg_constraint co where co.contypid = t.oid and co.contype <> 'n'
                      order by co.conname collate "C") as constraints
          from pg_type t join pg_namespace n on n.oid = t.typnamespace
         where n.nspname = any (%(schemas)s) and t.typtype = 'd'
           and {not_extension_member("pg_type", "t.oid")}""",
    "composite type": f"""
        select format('%%I.%%I', n.nspname, t.typname) as key,
               array(select format('%%I %%s', a.attname, format_type(a.atttypid, a.atttypmod))
                       from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
                      order by a.attnum) as attributes
          from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_class c on c.oid = t.typrelid
         where n.nspname = any (%(schemas)s) and t.typtype = 'c' and c.relkind = 'c'
           and {not_extension_member("pg_type", "t.oid")}""",
    # A NULL acl means the built-in default (acldefault): made explicit, so a grant
    # followed by its revoke compares equal to never having granted.
    "grant": f"""
        select format('%%s on %%s%%I.%%I to %%s', a.privilege_type,
                      case c.relkind when 'S' then 'sequence ' else '' end, n.nspname, c.relname, {_ROLE}) as key,
               format('%%I.%%I', n.nspname, c.relname) as "on", a.is_grantable as grantable
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          cross join lateral aclexplode(coalesce(
                c.relacl, acldefault(case c.relkind when 'S' then 's' else 'r' end::"char", c.relowner))) a
          left join pg_roles r on r.oid = a.grantee
         where n.nspname = any (%(schemas)s) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
           and {not_extension_member("pg_class", "c.oid")}
        union all
        select format('%%s (%%I) on %%I.%%I to %%s', a.privilege_type, att.attname, n.nspname, c.relname, {_ROLE}),
               format('%%I.%%I', n.nspname, c.relname), a.is_grantable
          from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace
          cross join lateral aclexplode(att.attacl) a
          left join pg_roles r on r.oid = a.grantee
         where n.nspname = any (%(schemas)s) and att.attacl is not null and not att.attisdropped
        union all
        select format('%%s on function %%I.%%I(%%s) to %%s', a.privilege_type, n.nspname, p.proname,
                      oidvectortypes(p.proargtypes), {_ROLE}),
               format('%%I.%%I(%%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)), a.is_grantable
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
          left join pg_roles r on r.oid = a.grantee
         where n.nspname = any (%(schemas)s)
           and {not_extension_member("pg_proc", "p.oid")}
        union all
        select format('%%s on schema %%I to %%s', a.privilege_type, n.nspname, {_ROLE}),
               quote_ident(n.nspname), a.is_grantable
          from pg_namespace n
          cross join lateral aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
          left join pg_roles r on r.oid = a.grantee
         where n.nspname = any (%(schemas)s)""",
    "default privilege": f"""
        select format('for role %%I%%s: %%s on %%s to %%s', pg_get_userbyid(d.defaclrole),
                      case when d.defaclnamespace = 0 then '' else format(' in schema %%I', n.nspname) end,
                      a.privilege_type,
                      case d.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences' when 'f' then 'functions'
                                           when 'T' then 'types' else 'schemas' end,
                      {_ROLE}) as key,
               a.is_grantable as grantable
          from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
          cross join lateral aclexplode(d.defaclacl) a
          left join pg_roles r on r.oid = a.grantee
         where d.defaclnamespace = 0 or n.nspname = any (%(schemas)s)""",
    "publication": """
        select quote_ident(p.pubname) as key, p.puballtables as all_tables,
               array_remove(array[case when p.pubinsert then 'insert' end, case when p.pubupdate then 'update' end,
                                  case when p.pubdelete then 'delete' end,
                                  case when p.pubtruncate then 'truncate' end], null) as publishes,
               array(select format('%%I.%%I', n.nspname, c.relname)
                       from pg_publication_rel pr join pg_class c on c.oid = pr.prrelid
                       join pg_namespace n on n.oid = c.relnamespace
                      where pr.prpubid = p.oid
                      order by format('%%I.%%I', n.nspname, c.relname) collate "C") as tables
          from pg_publication p""",
}

CATEGORIES = (*_QUERIES, "bucket")
# Tables whose rows are schema here (category "bucket"), not data.
ROWS_AS_SCHEMA = ("storage.buckets",)
BUCKET_PROPERTIES = ("public", "file_size_limit", "allowed_mime_types")


@dataclass
class Snapshot:
    """Per category (`table`, `policy`, ...), each object's key and properties."""

    objects: dict[str, dict[str, Properties]]

    def to_json(self) -> dict[str, Any]:
        return {category: dict(sorted(items.items())) for category, items in self.objects.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls({category: {key: dict(props) for key, props in items.items()} for category, items in data.items()})

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: equal snapshots, equal digests."""
        canonical = json.dumps(self.objects, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def default_schemas(conn: psycopg.Connection) -> list[str]:
    """Every schema but the system ones, the migration history and those an extension created."""
    rows = conn.execute(
        f"""select n.nspname from pg_namespace n
            where n.nspname <> all (%s) and n.nspname !~ '^pg_(toast_)?temp_'
              and {not_extension_member("pg_namespace", "n.oid")}
            order by n.nspname collate "C" """,
        (list(SYSTEM_SCHEMAS),),
    ).fetchall()
    return [name for (name,) in rows]


def snapshot(conn: psycopg.Connection, schemas: Iterable[str] | None = None) -> Snapshot:
    """Read the schema of `conn`'s database: all of `default_schemas` unless `schemas` names them.

    Runs in a transaction (a savepoint if one is open) that is rolled back, so
    the caller's settings are untouched.
    """
    with conn.transaction(force_rollback=True), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("select set_config('search_path', 'pg_catalog', true)")
        names = list(schemas) if schemas is not None else default_schemas(conn)
        objects = {
            category: _keyed(cur.execute(query, {"schemas": names, "relkind": _RELKINDS.get(category)}))
            for category, query in _QUERIES.items()
        }
        objects["bucket"] = _buckets(cur) if "storage" in names else {}
    return Snapshot(objects)


def _keyed(rows: Iterable[dict[str, Any]]) -> dict[str, Properties]:
    return {row.pop("key"): row for row in rows}


def _buckets(cur: psycopg.Cursor[dict[str, Any]]) -> dict[str, Properties]:
    """Rows of storage.buckets: creating a bucket is part of a Supabase migration."""
    row = cur.execute("select to_regclass('storage.buckets') is not null as present").fetchone()
    if not row or not row["present"]:
        return {}
    buckets = cur.execute("select to_jsonb(b) as bucket from storage.buckets b").fetchall()
    return {b["bucket"]["id"]: {k: b["bucket"].get(k) for k in BUCKET_PROPERTIES} for b in buckets}


def diff(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed from `before` to `after`, one line per difference, in a stable order.

    `+` added, `-` removed, `~` changed. The children of an added or removed
    table (columns, indexes, policies, grants, ...) are counted on its line.
    """
    gone, hidden_gone = _summaries(before, after)
    new, hidden_new = _summaries(after, before)
    lines: list[str] = []
    for category in CATEGORIES:
        old_items, new_items = before.objects.get(category, {}), after.objects.get(category, {})
        for key in sorted(old_items.keys() | new_items.keys()):
            if key not in new_items:
                if (category, key) not in hidden_gone:
                    lines.append(f"- {category} {key}{_describe(category, old_items[key], gone.get(key))}")
            elif key not in old_items:
                if (category, key) not in hidden_new:
                    lines.append(f"+ {category} {key}{_describe(category, new_items[key], new.get(key))}")
            else:
                lines.extend(_changes(category, key, old_items[key], new_items[key]))
    return lines


def assert_same(before: Snapshot, after: Snapshot, context: str = "") -> None:
    """Fail with the diff as the message (what pytest prints) unless the snapshots are equal."""
    __tracebackhide__ = True
    if before == after:
        return
    lines = diff(before, after) or [f"(digests {before.digest()} != {after.digest()})"]
    head = f"{context}: the schema changed" if context else "the schema changed"
    raise AssertionError("\n".join([f"{head} ({len(lines)} difference(s)):", *(f"  {line}" for line in lines)]))


def _summaries(side: Snapshot, other: Snapshot) -> tuple[dict[str | None, Counter[str]], set[tuple[str, str]]]:
    """Objects only in `side` whose parent is also only there: counted per top parent, hidden from the list."""
    only = {
        (category, key)
        for category, items in side.objects.items()
        for key in items.keys() - other.objects.get(category, {}).keys()
    }
    parents: dict[str | None, str | None] = {
        key: side.objects[category][key].get("on") for category, key in only if category in PARENTS
    }
    counts: dict[str | None, Counter[str]] = {}
    hidden = set()
    for category, key in only:
        parent = side.objects[category][key].get("on")
        if parent not in parents:
            continue
        while (up := parents[parent]) in parents:
            parent = up
        counts.setdefault(parent, Counter())[category] += 1
        hidden.add((category, key))
    return counts, hidden


def _describe(category: str, props: Properties, children: Counter[str] | None) -> str:
    """The short tail of a `+`/`-` line."""
    if category == "column":
        return " " + " ".join(
            part
            for part in (
                props["type"],
                "not null" if props["not_null"] else "",
                f"default {props['default']}" if props["default"] is not None else "",
                f"generated always as {props['generated']}" if props["generated"] else "",
                f"generated {props['identity']} as identity" if props["identity"] else "",
            )
            if part
        )
    if category in ("constraint", "index"):
        return f": {props['definition']}"
    if category == "policy":
        mode = "" if props["permissive"] else ", restrictive"
        return f" to {', '.join(props['roles'])} ({props['command']}{mode})"
    if category in ("grant", "default privilege"):
        return " with grant option" if props["grantable"] else ""
    if category == "extension":
        return f" {props['version']} in {props['schema']}"
    if category == "enum":
        return f" ({', '.join(_literal(label) for label in props['labels'])})"
    if category == "bucket":
        return " (public)" if props["public"] else ""
    parts = [_count(n, child) for child in CATEGORIES if (n := (children or Counter())[child])]
    if category == "function" and props["security_definer"]:
        parts.append("security definer")
    return f" ({', '.join(parts)})" if parts else ""


def _changes(category: str, key: str, old: Properties, new: Properties) -> Iterator[str]:
    for prop in sorted(old.keys() | new.keys()):
        before: Any = old.get(prop)
        after: Any = new.get(prop)
        if before == after:
            continue
        if prop == "body":
            yield f"~ {category} {key} body changed"
        elif prop == "labels":
            yield from (f"- enum value {key}.{_literal(label)}" for label in before if label not in after)
            yield from (f"+ enum value {key}.{_literal(label)}" for label in after if label not in before)
            if _reordered(before, after):
                yield f"~ enum {key} labels order: {_show(before)} -> {_show(after)}"
        elif prop == "columns_order":
            # Added and dropped columns have lines of their own; only a different
            # order of the columns both sides have is news (attnums never are).
            if _reordered(before, after):
                yield f"~ table {key} columns order: {_show(before)} -> {_show(after)}"
        else:
            yield f"~ {category} {key} {prop.replace('_', ' ')}: {_show(before)} -> {_show(after)}"


def _reordered(before: list[str], after: list[str]) -> bool:
    """Whether the items both lists have come in a different order."""
    return [x for x in before if x in after] != [x for x in after if x in before]


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value) if value else "(none)"
    return " ".join(str(value).split())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _count(n: int, category: str) -> str:
    if n == 1:
        return f"1 {category}"
    plural = category[:-1] + "ies" if category.endswith("y") else category + ("es" if category[-1] == "x" else "s")
    return f"{n} {plural}"
