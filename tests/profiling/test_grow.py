"""Tables grown to a production-like size by copying their own rows: every unique key still holds, references
still point at rows that exist, and a table whose key cannot differ between copies keeps its rows and says why."""

from __future__ import annotations

import psycopg

from phase3test.profiling.grow import grow, row_count


def _schema(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        create table public.owners (id bigint generated always as identity primary key,
                                    email text not null, joined date not null);
        create unique index owners_email_key on public.owners (lower(email));
        create table public.items (id uuid primary key, owner_id bigint not null references public.owners,
                                   code int not null unique, seen timestamptz not null unique,
                                   label varchar(12) not null unique);
        create table public.follows (owner_id bigint references public.owners, followed_id bigint references
                                     public.owners, primary key (owner_id, followed_id));
        create table public.log (id bigserial primary key, note text);
        create function public.no_writes() returns trigger language plpgsql as
          $$ begin raise exception 'no writes'; end $$;
        create trigger guarded before insert on public.log for each row execute function public.no_writes();
        insert into public.owners (email, joined) select 'owner' || n || '@example.com', date '2024-01-01' + n
          from generate_series(1, 50) n;
        insert into public.items select gen_random_uuid(), 1 + n % 50, n, now() + n * interval '1 minute',
          'item-' || n from generate_series(1, 40) n;
        insert into public.follows select n, 1 + n % 50 from generate_series(1, 40) n;
        alter table public.log disable trigger guarded;
        insert into public.log (note) select 'note ' || n from generate_series(1, 10) n;
        alter table public.log enable trigger guarded;
        """
    )


def test_every_unique_key_gets_a_new_value_per_copy_and_references_stay_valid(empty_db):
    _schema(empty_db)
    grown = [grow(empty_db, table, 1000) for table in ("public.owners", "public.items")]
    assert [(g.before, g.after, g.short) for g in grown] == [(50, 1000, ""), (40, 1000, "")]
    dangling = empty_db.execute(
        "select count(*) from public.items i left join public.owners o on o.id = i.owner_id where o.id is null"
    ).fetchone()
    assert dangling == (0,)
    distinct = empty_db.execute(
        "select count(distinct code), count(distinct seen), count(distinct label), max(length(label)) from public.items"
    ).fetchone()
    assert distinct is not None and distinct[:3] == (1000, 1000, 1000) and distinct[3] <= 12


def test_a_table_already_that_big_is_left_as_it_is(empty_db):
    _schema(empty_db)
    grown = grow(empty_db, "public.owners", 20)
    assert (grown.before, grown.after, grown.short) == (50, 50, "")
    assert row_count(empty_db, "public.owners") == 50


def test_a_key_made_only_of_references_keeps_its_rows_and_says_why(empty_db):
    _schema(empty_db)
    grown = grow(empty_db, "public.follows", 1000)
    assert (grown.after, row_count(empty_db, "public.follows")) == (40, 40)
    assert "follows_pkey" in grown.short and "references" in grown.short


def test_copies_skip_the_tables_triggers_and_an_empty_table_says_it_needs_rows(empty_db):
    _schema(empty_db)
    assert grow(empty_db, "public.log", 500).after == 500  # its trigger refuses every insert
    empty_db.execute("create table public.nothing (id int primary key)")
    assert grow(empty_db, "public.nothing", 500).short == "it has no rows to copy: seed some"


def test_copies_a_check_constraint_refuses_leave_the_table_as_it_was_and_say_so(empty_db):
    empty_db.execute(
        "create table public.slots (n int primary key check (n between 1 and 12));"
        "insert into public.slots select generate_series(1, 12)"
    )
    grown = grow(empty_db, "public.slots", 100)
    assert (grown.after, row_count(empty_db, "public.slots")) == (12, 12)
    assert "refused" in grown.short and "slots_n_check" in grown.short


def test_a_key_referencing_another_tables_key_grows_that_table_with_it_copy_for_copy(empty_db):
    """Supabase's profiles.id references auth.users(id): each copy of a profile references a copy of its user."""
    empty_db.execute(
        """
        create schema accounts;
        create table accounts.people (id uuid primary key, email text unique not null);
        create table public.profiles (id uuid primary key references accounts.people, name text not null);
        insert into accounts.people select gen_random_uuid(), 'p' || n || '@x.com' from generate_series(1, 30) n;
        insert into accounts.people select gen_random_uuid(), 'alone' || n || '@x.com' from generate_series(1, 5) n;
        insert into public.profiles select id, email from accounts.people where email like 'p%'
        """
    )
    grown = grow(empty_db, "public.profiles", 3000)
    assert (grown.after, grown.short, grown.parents) == (3000, "", ("accounts.people",))
    dangling = empty_db.execute(
        "select count(*) from public.profiles f left join accounts.people p using (id) where p.id is null"
    ).fetchone()
    assert dangling == (0,)
    people = row_count(empty_db, "accounts.people")
    assert 3000 <= people <= 3000 + 30 + 5  # the copies the profiles need, not copies of every person


def test_a_second_growth_numbered_past_the_first_repeats_no_key(empty_db):
    _schema(empty_db)
    first = grow(empty_db, "public.items", 400)
    second = grow(empty_db, "public.items", 1000, first.next_copy)
    assert (first.after, second.before, second.after, second.short) == (400, 400, 1000, "")
