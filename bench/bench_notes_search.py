"""Benchmark: note search through the index (SQLite FTS5 / PostgreSQL GIN tsvector) vs the pre-index
search, measured in the same run on the same notes.

    python bench/bench_notes_search.py [--notes N] [--pg URL]

Fills a fresh store with N notes (default 20,000; see _fill for the text), then times a few
queries, best of 5 each:

* index     — NotesRepo.search (ranked, the FTS5 MATCH or the tsvector @@ with the GIN index);
* reference — the search this replaced: load the newest 10,000 notes and keep those whose title
              or text contains every word (case-insensitive), as NotesService.search did before.

Prints milliseconds per query for both and the ratio reference/index. With --pg (a psycopg URL) the
same runs on PostgreSQL in a throw-away schema.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = ("opening drive fade gap vwap reclaim retest range high low breakout failed trend day chop "
         "sized small stop moved target hit partial runner trail breadth weak strong tape slow fast "
         "premarket level held lost support resistance volume spike news earnings squeeze open close "
         "morning midday afternoon power hour long short patience discipline plan entry exit").split()
QUERIES = ("vwap reclaim", '"opening range"', "fad*", "breakout -failed", "squeeze OR earnings")


def _fill(store, n: int) -> None:  # type: ignore[no-untyped-def]
    """Notes of 20–200 words: 1 in 20 from the trader's words above, the rest from 5,000 made-up
    words (so a query's words are in a few percent of the notes, as in a real journal)."""
    from core.store.schema import UserNote
    from core.store.validation import now_utc

    rng = random.Random(7)
    filler = ["".join(rng.choices("bcdfghjklmnprstvwz", k=3)) + rng.choice(("an", "er", "ot", "ix"))
              for _ in range(5000)]

    def words(k: int) -> str:
        return " ".join(rng.choice(WORDS) if rng.random() < 0.05 else rng.choice(filler) for _ in range(k))

    now = now_utc()
    rows = [UserNote(title=words(3), content=words(rng.randint(20, 200)), symbol=rng.choice(("SPY", "QQQ", "ES")),
                     created_at=now, updated_at=now, owner="local") for _ in range(n)]
    with store.session(write=True) as s:
        s.add_all(rows)


def _reference(repo, q: str) -> list[int]:  # type: ignore[no-untyped-def]
    words = [w.lower().strip('"*') for w in q.split() if w not in ("OR",) and not w.startswith("-")]
    notes = repo.list_notes(limit=10_000)
    return [n.id for n in notes if all(w in f"{n.title or ''} {n.content}".lower() for w in words)][:50]


def _best_ms(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def run(url: str, n: int, label: str) -> None:
    from core.store import NotesRepo, open_store

    store = open_store(url)
    try:
        store.migrate()
        t0 = time.perf_counter()
        _fill(store, n)
        print(f"{label}: {n:,} notes written in {time.perf_counter() - t0:.1f} s (index kept in step)")
        repo = NotesRepo(store)
        for q in QUERIES:
            hits = len(repo.search(q, limit=10_000))
            idx = _best_ms(lambda q=q: repo.search(q, limit=50))
            ref = _best_ms(lambda q=q: _reference(repo, q))
            print(f"  {q:<22} {hits:5d} matches   index {idx:7.1f} ms   reference {ref:7.1f} ms"
                  f"   ratio {ref / idx:5.1f}×")
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--pg", help="a postgresql+psycopg:// URL: also run there, in a throw-away schema")
    args = ap.parse_args()
    from core.store import sqlite_url

    with tempfile.TemporaryDirectory() as tmp:
        run(sqlite_url(Path(tmp) / "bench.db"), args.notes, "SQLite FTS5")
    if args.pg:
        from tests.store_helpers import pg_isolated_url

        with pg_isolated_url(args.pg) as url:
            run(url, args.notes, "PostgreSQL GIN")


if __name__ == "__main__":
    main()
