"""The password gate of the app.

A dashboard published beyond the team must be protected (DOMAIN.md). The rule:

* a password hash is configured (``$WEBCARE_PASSWORD_HASH``, or ``password_hash`` in Streamlit's
  secrets, ``.streamlit/secrets.toml``): every page asks for the password first;
* no hash and the server listens on localhost only (``make run``): the app opens directly;
* no hash and the server listens beyond localhost: no data is shown; the page says how to set a hash.

The hash is salted scrypt from the standard library (``hashlib.scrypt``), written as
``scrypt$n$r$p$salt_hex$hash_hex``; PBKDF2 hashes (``pbkdf2_sha256$iterations$salt_hex$hash_hex``)
are read too. Comparison is constant-time (``hmac.compare_digest``); every failed attempt waits
longer (1, 2, 4 ... up to 30 seconds) before the next may be tried.

Make a hash (the password is read from a prompt, never from the command line):

    .venv/bin/python -m webcare.auth hash
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import secrets
import sys
import time

ENV_VAR = "WEBCARE_PASSWORD_HASH"
LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1", "[::1]"}
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_DELAY_SECONDS = 30.0


class PasswordHashError(ValueError):
    """A configured password hash that cannot be read."""


def make_hash(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of ``password``: ``scrypt$n$r$p$salt_hex$hash_hex``."""
    if not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (scrypt or pbkdf2_sha256), compared in constant time."""
    parts = stored.strip().split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
            digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                                    maxmem=128 * n * r * 2, dklen=len(expected))
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            iterations, salt, expected = int(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
            digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, dklen=len(expected))
        else:
            raise PasswordHashError("the password hash is not in a known form: make one with `python -m webcare.auth hash`")
    except (ValueError, TypeError) as exc:
        if isinstance(exc, PasswordHashError):
            raise
        raise PasswordHashError(f"the password hash cannot be read ({exc}): make one with `python -m webcare.auth hash`") from None
    return hmac.compare_digest(digest, expected)


def configured_hash(secrets_mapping=None) -> str | None:
    """The configured hash: ``$WEBCARE_PASSWORD_HASH``, else ``password_hash`` in the secrets."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value:
        return value
    if secrets_mapping is not None:
        try:
            value = str(secrets_mapping.get("password_hash", "") or "").strip()
        except Exception:  # no secrets file: Streamlit raises when it is read
            value = ""
        if value:
            return value
    return None


def is_local(address: str | None) -> bool:
    """Whether the server's address is reachable from this machine only."""
    return (address or "").strip() in LOCAL_ADDRESSES


def failure_delay(failures: int) -> float:
    """Seconds to wait after the ``failures``-th failed attempt: 1, 2, 4, ... at most 30."""
    return 0.0 if failures <= 0 else min(MAX_DELAY_SECONDS, 2.0 ** (failures - 1))


def decide(stored_hash: str | None, address: str | None) -> str:
    """``open`` (no gate), ``ask`` (ask the password) or ``refuse`` (beyond localhost without a hash)."""
    if stored_hash:
        return "ask"
    return "open" if is_local(address) else "refuse"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["hash"]:
        print("usage: python -m webcare.auth hash   (asks for the password, prints the hash)", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        value = make_hash(password)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(value)
    print(f"\nSet it before starting the app, e.g.  export {ENV_VAR}='{value}'\n"
          f"or put  password_hash = \"{value}\"  in .streamlit/secrets.toml", file=sys.stderr)
    return 0


def sleep_after_failure(failures: int) -> None:
    time.sleep(failure_delay(failures))


if __name__ == "__main__":
    raise SystemExit(main())
