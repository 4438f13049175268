"""docker-compose.yml: valid for Compose, local-only, pinned, healthy, and its keys signed by its secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from limits import SUBPROCESS_TIMEOUT

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
LINTER = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def docker_compose_available() -> bool:
    docker = shutil.which("docker")
    return (
        bool(docker)
        and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=SUBPROCESS_TIMEOUT).returncode
        == 0
    )


def test_the_file_is_valid_compose():
    if docker_compose_available():
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
            capture_output=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
    elif LINTER is not None:  # no Compose here: the Compose specification's own schema
        result = subprocess.run(
            [LINTER, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
    else:
        pytest.skip("neither docker compose nor check-jsonschema is installed")
    assert result.returncode == 0, result.stdout + result.stderr


def test_postgres_is_supabases_15_image_and_every_image_is_pinned():
    services = compose()["services"]
    assert services["db"]["image"].startswith("supabase/postgres:15.")
    for name, service in services.items():
        _, _, tag = service["image"].partition(":")
        assert tag and tag != "latest", f"{name} runs an unpinned image"


def test_every_port_listens_on_loopback_only_and_every_service_has_a_health_check():
    for name, service in compose()["services"].items():
        assert all(str(port).startswith("127.0.0.1:") for port in service.get("ports", [])), name
        assert service["healthcheck"]["test"], name


def test_the_keys_are_jwts_signed_with_the_stacks_secret_for_their_roles():
    data = compose()
    secret = data["x-jwt-secret"].encode()
    assert data["services"]["rest"]["environment"]["PGRST_JWT_SECRET"] == data["x-jwt-secret"]
    assert data["services"]["auth"]["environment"]["GOTRUE_JWT_SECRET"] == data["x-jwt-secret"]
    for role, token in data["x-supabase-keys"].items():
        header, payload, signature = token.split(".")
        expected = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected, role
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["role"] == role and claims["exp"] > claims["iat"]
