"""Through a running stack's API: tokens for any role or user, a supabase-py client acting with them, and
the access matrix run through PostgREST. The matrix itself needs a stack (PHASE3TEST_API_URL,
PHASE3TEST_API_JWT_SECRET, PHASE3TEST_API_DB_URL); without one it is a single skipped test saying so."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from limits import SUBPROCESS_TIMEOUT

from phase3test.supabase.api import NOT_CONFIGURED, ApiStack

pytestmark = pytest.mark.slow

SECRET = "a-development-secret-of-at-least-32-characters"
USER = "0b7c6a55-8f0e-4b4e-9c39-2a7d2f0c1e01"
STACK = {
    name: os.environ.get(name) for name in ("PHASE3TEST_API_URL", "PHASE3TEST_API_JWT_SECRET", "PHASE3TEST_API_DB_URL")
}
NO_STACK = not all(STACK.values())
PROJECT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_token_says_who_is_signed_in_and_only_the_stacks_secret_verifies_it() -> None:
    stack = ApiStack("http://127.0.0.1:54321", SECRET)
    claims = jwt.decode(stack.token("authenticated", USER), SECRET, algorithms=["HS256"], audience="authenticated")
    assert (claims["role"], claims["sub"], claims["aud"]) == ("authenticated", USER, "authenticated")
    assert claims["exp"] > claims["iat"]
    assert jwt.decode(stack.token("anon"), SECRET, algorithms=["HS256"])["role"] == "anon"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(stack.token("service_role"), "another-secret-of-at-least-32-characters!", algorithms=["HS256"])


def test_the_client_sends_the_users_token_and_the_anon_key() -> None:
    client = ApiStack("http://127.0.0.1:54321", SECRET).client("authenticated", USER)
    bearer = client.options.headers["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(bearer, SECRET, algorithms=["HS256"], audience="authenticated")["sub"] == USER
    assert jwt.decode(client.options.headers["apiKey"], SECRET, algorithms=["HS256"])["role"] == "anon"
    assert str(client.rest_url) == "http://127.0.0.1:54321/rest/v1"


@pytest.fixture
def no_stack_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest runs below see only the options they are given, not a stack this machine may configure."""
    for name in STACK:
        monkeypatch.delenv(name, raising=False)


def test_without_a_stack_the_matrix_through_the_api_is_one_skipped_test_saying_how(
    project: Path, pytester: pytest.Pytester, home: Path, no_stack_in_env: None
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-rs", f"--rootdir={project}", "-c", str(project / "pytest.ini"),
        "--pyargs", "phase3test.suites.test_api_access",
        timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    output = result.stdout.str()
    assert result.ret == 0, output
    assert "1 skipped" in output and NOT_CONFIGURED in output


def test_a_stack_that_does_not_answer_fails_the_api_checks_and_names_it(
    project: Path, pytester: pytest.Pytester, home: Path, no_stack_in_env: None
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--rootdir={project}", "-c", str(project / "pytest.ini"),
        f"--pg-api-url={url}", f"--pg-api-jwt-secret={SECRET}", "--pyargs", "phase3test.suites.test_api_access",
        timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    output = result.stdout.str()
    assert result.ret == 1, output
    assert f"the API at {url} does not answer" in output and SECRET not in output


def test_an_api_url_without_the_secret_is_a_usage_error(
    project: Path, pytester: pytest.Pytester, no_stack_in_env: None
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--rootdir={project}", "-c", str(project / "pytest.ini"),
        "--pg-api-url=http://127.0.0.1:54321", "--pyargs", "phase3test.suites.test_api_access",
        timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "without the stack's JWT secret" in result.stderr.str()


@pytest.mark.skipif(NO_STACK, reason="needs a running stack: set " + ", ".join(STACK))
def test_the_phase3_matrix_holds_through_the_api() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--pyargs",
         "phase3test.suites.test_api_access"],
        cwd=PROJECT, capture_output=True, text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
