"""The password gate's pieces: hashes, constant-time check, the rule, the delay, the command."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys

import pytest

from tests.conftest import REPO
from webcare import auth


def test_scrypt_hash_is_salted_and_verifies():
    first, second = auth.make_hash("correct horse"), auth.make_hash("correct horse")
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a fresh salt every time
    assert auth.verify("correct horse", first) and auth.verify("correct horse", second)
    assert not auth.verify("correct hors", first) and not auth.verify("", first)


def test_pbkdf2_hashes_are_read_too():
    salt = bytes(range(16))
    digest = hashlib.pbkdf2_hmac("sha256", b"wachtwoord", salt, 1000)
    stored = f"pbkdf2_sha256$1000${salt.hex()}${digest.hex()}"
    assert auth.verify("wachtwoord", stored) and not auth.verify("Wachtwoord", stored)


@pytest.mark.parametrize("stored", ["plain-text", "scrypt$1$2$3", "scrypt$16384$8$1$zz$00", "md5$abc$def"])
def test_unreadable_hashes_are_a_clear_error(stored):
    with pytest.raises(auth.PasswordHashError, match="python -m webcare.auth hash"):
        auth.verify("x", stored)


def test_empty_password_is_refused():
    with pytest.raises(ValueError, match="empty"):
        auth.make_hash("")


def test_the_rule(monkeypatch):
    assert auth.decide(None, "localhost") == "open"
    assert auth.decide(None, "127.0.0.1") == "open"
    assert auth.decide(None, "0.0.0.0") == "refuse"
    assert auth.decide(None, "") == "refuse"  # Streamlit's default: every interface
    assert auth.decide("scrypt$...", "localhost") == "ask"
    monkeypatch.setenv(auth.ENV_VAR, "scrypt$from-env")
    assert auth.configured_hash({"password_hash": "scrypt$from-secrets"}) == "scrypt$from-env"
    monkeypatch.delenv(auth.ENV_VAR)
    assert auth.configured_hash({"password_hash": "scrypt$from-secrets"}) == "scrypt$from-secrets"
    assert auth.configured_hash({}) is None and auth.configured_hash(None) is None


def test_the_delay_grows_after_each_failure():
    assert [auth.failure_delay(n) for n in range(0, 8)] == [0, 1, 2, 4, 8, 16, 30, 30]


def test_the_hash_command_reads_the_password_from_stdin():
    done = subprocess.run([sys.executable, "-m", "webcare.auth", "hash"], input="s3cret\n", capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0
    stored = done.stdout.strip()
    assert auth.verify("s3cret", stored) and "WEBCARE_PASSWORD_HASH" in done.stderr
    assert "s3cret" not in done.stdout + done.stderr


def test_the_hash_command_refuses_an_empty_password(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert auth.main(["hash"]) == 2
    assert "empty" in capsys.readouterr().err
    assert auth.main([]) == 2
