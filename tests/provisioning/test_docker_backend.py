"""The docker backend: Supabase's own image started by testcontainers. Where an engine answers, the gate
runs on it and the container is gone afterwards; where none does, the backend says so and starts nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT

from phase3test.provisioning.registry import base_dir
from phase3test.server import container

pytestmark = pytest.mark.slow

NO_ENGINE = container.engine_problem()


def _image_containers() -> list[str]:
    from testcontainers.core.docker_client import DockerClient

    return [c.id for c in DockerClient().client.containers.list(all=True, filters={"ancestor": container.IMAGE})]


@pytest.mark.skipif(NO_ENGINE is not None, reason=f"needs a Docker engine: {NO_ENGINE}")
def test_the_gate_passes_on_supabase_postgres_and_the_container_goes(
    project: Path, run_check: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    before = _image_containers()

    done = run_check(project, "--pg-backend", "docker")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "migration gate PASSED" in done.stdout and "container: templates built for this run" in done.stdout
    assert _image_containers() == before


@pytest.mark.skipif(NO_ENGINE is None, reason="a Docker engine answers here: the gate test above runs instead")
def test_without_an_engine_it_says_why_and_starts_nothing(
    broken_project: Callable[..., Path], pytester: pytest.Pytester, home: Path
) -> None:
    broken_project({})

    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--pg-backend=docker",
        "--pyargs",
        "phase3test.suites.test_idempotency",
        timeout=SUBPROCESS_TIMEOUT,
    )

    output = result.stdout.str()
    assert result.ret == 1, output
    assert f"the docker backend cannot start {container.IMAGE}: no Docker engine answers" in output
    assert "hint: use the embedded backend" in output
    assert not list((base_dir(home) / "runs").iterdir()), "no run is left behind"
