"""`ecg-desktop tokens list|new|revoke`: the API tokens a backend bound to a non-loopback
address accepts (kept with the secrets; see ``config.tokens``), for a host with no window.

Exit codes: 0 done, 2 nothing changed (the tokens come from ``ECG_API_TOKENS``, no such
token, or it is the last one).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ecg_desktop.config import ENV_NAMES
from ecg_desktop.config.secrets import load_settings_with_secrets, store_secret
from ecg_desktop.config.tokens import make_token, split_token, token_tail

from . import fail

VARIABLE = ENV_NAMES["api_tokens"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tokens",
        help="API tokens for a backend on a non-loopback address",
        description="List, make and revoke the API tokens `serve` accepts when it listens on "
        "an address other than this computer's. Restart `serve` after a change.",
    )
    actions = parser.add_subparsers(dest="tokens_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="each token's holder and last characters (never the secret)")
    new = actions.add_parser("new", help="make a token and print its secret, once")
    new.add_argument("holder", nargs="?", default="",
                     help="whose token it is: their jobs are recorded under this name")
    revoke = actions.add_parser("revoke", help="remove a token (by holder, or its last characters)")
    revoke.add_argument("which", help="the holder's name, or the last characters `list` shows")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    tokens = list(load_settings_with_secrets().api_tokens)
    if args.tokens_action == "list":
        for token in tokens:
            holder = split_token(token)[0] or "(no name)"
            print(f"{holder}\t···{token_tail(token)}")
        return 0
    if os.environ.get(VARIABLE):
        return fail(f"the tokens come from {VARIABLE}; change that variable instead")
    if args.tokens_action == "new":
        token = make_token(args.holder)
        store_secret("api_tokens", [*tokens, token])
        print(split_token(token)[1])
        return 0
    return _revoke(tokens, args.which)


def _revoke(tokens: list[str], which: str) -> int:
    matches = [t for t in tokens if which in (split_token(t)[0], token_tail(t))]
    if len(matches) != 1:
        found = "no token" if not matches else f"{len(matches)} tokens"
        return fail(f"{found} of holder or ending {which!r}; see `ecg-desktop tokens list`")
    if len(tokens) == 1:
        return fail("it is the last token; make a new one first (`tokens new`)")
    store_secret("api_tokens", [t for t in tokens if t != matches[0]])
    print(f"revoked {which}; restart `ecg-desktop serve` for it to take effect")
    return 0
