"""`ecg-desktop secrets set NAME | list`: this user's secrets on a machine without a window.

A value is read from a prompt that does not echo it (``getpass``) on a terminal, else from
standard input (``printf %s "$SECRET" | ecg-desktop secrets set NAME``), and never from the
command line, where every local user could read it in the process list. It is kept where the
window keeps it: the OS keyring, else ``secrets.toml`` (0600) in the config folder
(``config/secrets.py``). ``list`` prints names and where each one comes from, never a value.

Exit codes: 0 done, 2 unknown name or an empty value.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from ecg_desktop.cli import fail
from ecg_desktop.config.settings import ENV_NAMES, SECRET_FIELDS

DESCRIPTIONS = {
    "aws_secret_access_key": "the S3 secret key of AWS_ACCESS_KEY_ID",
    "aws_session_token": "the session token of temporary S3 credentials",
    "team_token": "this desktop's API token for the team backend (serve)",
    "webhook_secret_key": "the webhook secret (serve and ML servers only, not desktops)",
    "api_tokens": "the API tokens `serve` accepts (comma separated)",
    "database_password": "the password of the database URL's role (or ~/.pgpass)",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "secrets",
        help="set or list this user's secrets (S3 secret key, team token, ...)",
        description="Keep a secret in the OS keyring (else in secrets.toml, readable by you "
        "only). Values are typed at a prompt or read from standard input, never given as "
        "arguments.",
    )
    actions = parser.add_subparsers(dest="secrets_action", metavar="ACTION", required=True)
    setting = actions.add_parser("set", help="set a secret (from a prompt or standard input)")
    setting.add_argument("name", metavar="NAME", help=", ".join(sorted(SECRET_FIELDS)))
    actions.add_parser("list", help="the names of the secrets that are set (no values)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ecg_desktop.config.secrets import SecretStore, store_secret

    store = SecretStore()
    if args.secrets_action == "list":
        return _list(store)
    name = args.name.strip().lower().replace("-", "_")
    if name not in SECRET_FIELDS:
        return fail(f"{args.name!r} is not a secret; one of: {', '.join(sorted(SECRET_FIELDS))}",
                    "secrets")
    value = _read_value(name)
    if not value:
        return fail("no value given; nothing was changed", "secrets")
    store_secret(name, value, store)
    print(f"{name} is set ({store.location})")
    variable = ENV_NAMES.get(name)
    if variable and os.environ.get(variable):
        print(f"note: {variable} is set in this environment and wins over the stored value",
              file=sys.stderr)
    return 0


def _read_value(name: str) -> str:
    """From a prompt that does not echo on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return getpass.getpass(f"{name} ({DESCRIPTIONS.get(name, 'secret')}): ").strip()
    return sys.stdin.readline().strip()


def _list(store: Any) -> int:
    for name in sorted(SECRET_FIELDS):
        variable = ENV_NAMES.get(name)
        if variable and os.environ.get(variable):
            where = f"from the environment ({variable})"
        elif store.get(name):
            where = f"in {store.location}"
        else:
            continue
        print(f"{name:24} {where}")
    return 0
