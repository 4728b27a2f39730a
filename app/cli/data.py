"""`import-bars`, `tokens`, `db`: the store, without starting the kernel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.common import cli_settings, print_json
from core.errors import InputError


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    imp = sub.add_parser("import-bars", help="import a CSV/Parquet bar file into the store",
                         description="Import a CSV/Parquet bar file; the file's time range replaces what was stored.")
    imp.add_argument("file", type=Path)
    imp.add_argument("--symbol", required=True, dest="import_symbol")
    imp.add_argument("--tz", help="time zone of naive timestamps (default America/New_York)")
    imp.add_argument("--allow-missing-volume", action="store_true", help="treat missing volume as 0")
    imp.add_argument("--drop-invalid", action="store_true",
                     help="drop impossible bars (prices <= 0, open/close outside low-high, ...) and count them")
    imp.add_argument("--json", action="store_true", help="print the result as JSON")
    imp.set_defaults(func=_import_bars)

    tok = sub.add_parser("tokens", help="API tokens for the GPT: add USER (prints the token once), list, revoke",
                         description="API tokens for the GPT (stored hashed).")
    tok_sub = tok.add_subparsers(dest="tokens_command", required=True, metavar="{add,list,revoke}")
    tok_add = tok_sub.add_parser("add", help="create a token for USER and print it (stored hashed)")
    tok_add.add_argument("user")
    tok_add.add_argument("--admin", action="store_true", help="may act for another user (X-User-Id)")
    tok_add.add_argument("--json", action="store_true", help="print the token and its id as JSON")
    tok_list = tok_sub.add_parser("list", help="active tokens (prefix, user, created)")
    tok_list.add_argument("--json", action="store_true", help="print a JSON list")
    tok_rev = tok_sub.add_parser("revoke", help="revoke by id, shown prefix, or every token of a user")
    tok_rev.add_argument("ident")
    tok_rev.add_argument("--json", action="store_true", help="print the count as JSON")
    tok.set_defaults(func=_tokens)

    db = sub.add_parser("db", help="database schema: upgrade to the newest revision, or show the current one",
                        description="The configured database (DB_URL, default DATA_DIR/tradecoach.db).")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="{upgrade,current}")
    up = db_sub.add_parser("upgrade", help="apply the migrations (Alembic) up to REVISION (default head)")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("--json", action="store_true", help="print from/to revisions as JSON")
    cur = db_sub.add_parser("current", help="the schema revision and the newest one")
    cur.add_argument("--json", action="store_true", help="print the revisions as JSON")
    db.set_defaults(func=_db)


def _import_bars(args: argparse.Namespace) -> int:
    from core.progress import TerminalProgress
    from core.store import import_bars_file, open_ready_store

    if not args.file.is_file():
        raise InputError("file", f"{args.file}: no such file")
    settings = cli_settings()
    store = open_ready_store(settings.database_url)
    try:
        # Streamed in bounded chunks; the file's range replaces what was stored, in one transaction.
        with TerminalProgress(f"import {args.file.name}", enabled=not args.json) as bar:
            res = import_bars_file(store, args.file, args.import_symbol, tz=args.tz,
                                   allow_missing_volume=args.allow_missing_volume, drop_invalid=args.drop_invalid,
                                   progress=bar.update)
    finally:
        store.close()
    info = {**res.to_dict(), "rows": res.inserted, "database": settings.redacted()["db_url"]}
    if args.json:
        print_json(info)
    else:
        print(f"imported {res.inserted} {res.interval.name} bars of {res.symbol} ({info['first']} → {info['last']}) "
              f"into {info['database']}: {res.replaced} replaced, {res.left} left outside the file's range"
              + (f", {res.dropped} invalid rows dropped" if res.dropped else "")
              + "".join(f"\n  note: {n}" for n in res.notes))
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from core.api.auth import TokensRepo
    from core.store.engine import open_ready_store

    settings = cli_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_ready_store(settings.database_url)
    try:
        repo = TokensRepo(store)
        if args.tokens_command == "add":
            token, info = repo.add(args.user, admin=args.admin)
            if args.json:
                print_json({"token": token, **info.to_dict()})
            else:
                print(token)
            print(f"token {info.id} for {info.user}{' (admin)' if info.admin else ''}: shown once, stored hashed",
                  file=sys.stderr)
        elif args.tokens_command == "list":
            tokens = repo.list_tokens()
            if args.json:
                print_json([t.to_dict() for t in tokens])
            for t in [] if args.json else tokens:
                print(f"{t.id}\t{t.prefix}…\t{t.user}{' admin' if t.admin else ''}\t{t.created_at:%Y-%m-%d %H:%M} UTC")
        else:
            n = repo.revoke(args.ident)
            if args.json:
                print_json({"revoked": n})
            else:
                print(f"revoked {n} token(s)")
            return 0 if n else 1
    finally:
        store.close()
    return 0


def _db(args: argparse.Namespace) -> int:
    from core.store.engine import open_store

    settings = cli_settings()
    url = settings.redacted()["db_url"]
    store = open_store(settings.database_url)
    try:
        before, head = store.current_revision(), store.head_revision()
        if args.db_command == "current":
            info = {"database": url, "backend": store.dialect, "revision": before, "head": head,
                    "current": before == head}
            if args.json:
                print_json(info)
            else:
                print(f"{url}: revision {before or 'none (empty)'}; newest {head}"
                      + ("" if before == head else " — run `tradecoach db upgrade`"))
            return 0
        if args.revision != "head" and not _known_revision(store, args.revision):
            raise InputError("revision", f"unknown revision {args.revision!r}")
        store.migrate(args.revision)
        after = store.current_revision()
    finally:
        store.close()
    if args.json:
        print_json({"database": url, "from": before, "to": after, "head": head, "changed": before != after})
    else:
        print(f"{url}: {before or 'empty'} → {after}" if before != after else f"{url}: already at {after}")
    return 0


def _known_revision(store: object, revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from core.store.engine import Store

    assert isinstance(store, Store)
    try:
        return ScriptDirectory.from_config(store.alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
