"""`nbpresign users set-password NAME [--reset-required]`: the password from standard input,
then a console sign-in with it against the real `serve` process."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request

from nbpresign.client import Client

from conftest import NBPRESIGN, Server, unique_name

PASSWORD = "correct horse battery staple"


def cli(server: Server, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NBPRESIGN_SERVER": server.grpc_target,
        "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "credentials"),
    }
    return subprocess.run(
        [*NBPRESIGN, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def console_sign_in(server: Server, user: str, password: str) -> tuple[int, dict[str, object]]:
    origin = f"http://127.0.0.1:{server.http_port}"
    request = urllib.request.Request(
        f"{origin}/_nbpresign/console/sign-in",
        data=json.dumps({"userName": user, "password": password}).encode(),
        headers={"Content-Type": "application/json", "Origin": origin},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_set_password_reads_standard_input_and_the_console_accepts_it(server: Server) -> None:
    user = unique_name("person")
    assert cli(server, "users", "create", user).returncode == 0
    done = cli(server, "users", "set-password", user, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    status, body = console_sign_in(server, user, PASSWORD)
    assert status == 200 and body["userName"] == user
    assert console_sign_in(server, user, PASSWORD + "!")[0] == 401

    # Again, on an existing profile: replaced, and the next sign-in must change it.
    again = cli(
        server, "users", "set-password", user, "--reset-required", stdin="another good one\n"
    )
    assert again.returncode == 0, again.stderr
    with Client(server.grpc_target, identity=server.identity) as client:
        assert client.get_login_profile(user).password_reset_required
    assert console_sign_in(server, user, "another good one") == (
        200,
        {"passwordResetRequired": True},
    )


def test_a_short_password_is_refused_in_words(server: Server) -> None:
    user = unique_name("person")
    assert cli(server, "users", "create", user).returncode == 0
    refused = cli(server, "users", "set-password", user, stdin="tooshort\n")
    assert refused.returncode == 1
    assert refused.stderr.startswith("An error occurred (PasswordPolicyViolation):")
    assert "at least 12 characters" in refused.stderr
    assert "tooshort" not in refused.stderr
    removed = cli(server, "users", "delete-password", user)
    assert "NoSuchEntity" in removed.stderr
