"""The order webhook as the project's own tests check it, on the doubles of pg_net and Vault."""

import psycopg
import pytest


def test_a_new_order_queues_one_post_with_the_vault_token(db):
    db.execute("insert into public.orders (item, total) values ('drill', 49.90)")
    method, url, headers, body = db.execute(
        "select method, url, headers, convert_from(body, 'UTF8')::jsonb from net.http_request_queue"
    ).fetchone()
    assert (method, url) == ("POST", "https://fulfilment.example.test/orders")
    assert headers["Authorization"] == "Bearer fulfilment-token-for-tests"
    assert body == {"id": 1, "item": "drill", "total": 49.9}


def test_a_secret_can_be_rotated(db):
    (secret_id,) = db.execute("select id from vault.secrets where name = 'fulfilment_token'").fetchone()
    db.execute("select vault.update_secret(%s, 'rotated')", (secret_id,))
    assert db.execute(
        "select decrypted_secret from vault.decrypted_secrets where name = 'fulfilment_token'"
    ).fetchone() == ("rotated",)


def test_the_api_roles_cannot_read_the_vault(db):
    for role in ("anon", "authenticated"):
        assert db.execute(
            "select has_table_privilege(%s, 'vault.decrypted_secrets', 'select')", (role,)
        ).fetchone() == (False,)
    db.execute("set local role authenticated")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select decrypted_secret from vault.decrypted_secrets")


def test_get_and_delete_queue_their_requests_with_the_params_in_the_url(db):
    get_id = db.execute(
        'select net.http_get(\'https://stock.example.test/items\', params := \'{"sku": "d-1", "depot": "n"}\')'
    ).fetchone()[0]
    delete_id = db.execute("select net.http_delete('https://stock.example.test/items/7?force=1')").fetchone()[0]
    queued = db.execute(
        "select id, method, url, body from net.http_request_queue where id in (%s, %s) order by id", (get_id, delete_id)
    ).fetchall()
    assert queued == [
        (get_id, "GET", "https://stock.example.test/items?depot=n&sku=d-1", None),
        (delete_id, "DELETE", "https://stock.example.test/items/7?force=1", None),
    ]
