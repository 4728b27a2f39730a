"""Full-text search over notes: one small query language, two engines.

The trader (or the GPT) types words; `parse_query` turns them into a `Query` which renders to an
SQLite FTS5 MATCH expression or a PostgreSQL `to_tsquery` string, so both databases find the same
notes for the same text and bad syntax is refused before it reaches either (an `InputError` naming
`q`, never a database error).

    opening drive          both words (AND)
    "opening drive"        the phrase
    fad*                   a prefix (fade, faded, fading)
    vwap -gap   NOT gap    vwap, but not gap
    orb OR retest          either

Words are letters and digits; "vwap-reclaim" or "BRK.B" count as the phrase of their parts. English
stemming on both sides (FTS5 `porter`, PostgreSQL `english`) so "faded" also finds "fade".

The search objects live outside the ORM models (migration 0005_notes_search creates them):
SQLite — the external-content FTS5 table `user_notes_fts` (title, content) kept in step with
`user_notes` by three triggers; PostgreSQL — the stored generated column `user_notes.search_vector`
(title weighted A, content B) with the GIN index `ix_user_notes_search`. A stored column rather than
an expression index: ranking reads each match's vector, which an expression index made PostgreSQL
recompute from the text for every matching row (measured: 8 s for a query matching nearly all of
20,000 notes — slower than the old scan). `SEARCH_OBJECTS` names them for the schema comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.errors import InputError

FTS_TABLE = "user_notes_fts"
# FTS5 creates these shadow tables next to the virtual table; they are FTS5's, not the models'.
FTS_SHADOW = tuple(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config", "content"))
PG_INDEX = "ix_user_notes_search"
PG_COLUMN = "search_vector"   # on user_notes, PostgreSQL only
SEARCH_OBJECTS = frozenset((FTS_TABLE, *FTS_SHADOW, PG_INDEX))

FTS_RANK = f"bm25({FTS_TABLE}, 4.0, 1.0)"  # title hits weigh 4× content hits; lower is better

MAX_TERMS = 32
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]   # one word, or a phrase
    prefix: bool = False     # the last word is a prefix
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    groups: tuple[tuple[Term, ...], ...]   # OR of groups; each group is an AND of terms

    def fts5(self) -> str:
        def term(t: Term) -> str:
            return '"' + " ".join(t.words) + '"' + ("*" if t.prefix else "")

        parts = []
        for g in self.groups:
            pos = " AND ".join(term(t) for t in g if not t.negated)
            neg = "".join(f" NOT {term(t)}" for t in g if t.negated)
            parts.append(f"({pos}){neg}")
        return " OR ".join(parts)

    def tsquery(self) -> str:
        def term(t: Term) -> str:
            lexemes = [f"'{w}'" for w in t.words]
            if t.prefix:
                lexemes[-1] += ":*"
            body = " <-> ".join(lexemes)
            body = f"({body})" if len(lexemes) > 1 else body
            return ("!" if t.negated else "") + body

        return " | ".join("(" + " & ".join(term(t) for t in g) + ")" for g in self.groups)


def _bad(reason: str) -> InputError:
    return InputError("q", reason)


def parse_query(text: object) -> Query:
    """The search text as a Query; InputError("q", why) when it cannot be read."""
    if not isinstance(text, str):
        raise _bad("must be a string")
    groups: list[list[Term]] = [[]]
    pending_or = pending_not = False
    i, n, count = 0, len(text), 0
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = False
        if text[i] == "-":
            if i + 1 >= n or text[i + 1].isspace():
                raise _bad("'-' must stand right before a word or a \"phrase\" (e.g. -gap)")
            negated, i = True, i + 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _bad('a phrase is missing its closing quote (")')
            words = tuple(w.lower() for w in _WORD.findall(text[i + 1:end]))
            if not words:
                raise _bad('an empty "" phrase; put words between the quotes')
            i = end + 1
            prefix = i < n and text[i] == "*"
            i += int(prefix)
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] != '"':
                end += 1
            token, i = text[i:end], end
            if not negated and token == "OR":
                if pending_or or not groups[-1] or pending_not:
                    raise _bad("OR needs a search term on each side")
                pending_or = True
                continue
            if not negated and token == "NOT":
                if pending_not:
                    raise _bad("NOT NOT: say what to leave out once")
                pending_not = True
                continue
            if not negated and token == "AND":
                continue  # words are ANDed anyway
            prefix = token.endswith("*")
            words = tuple(w.lower() for w in _WORD.findall(token))
            if not words:
                if negated or prefix:
                    raise _bad(f"{token!r} has no letters or digits to search for")
                continue  # stray punctuation ("&", "—") between words
        count += 1
        if count > MAX_TERMS:
            raise _bad(f"more than {MAX_TERMS} search terms")
        if pending_or:
            groups.append([])
            pending_or = False
        groups[-1].append(Term(words, prefix, negated or pending_not))
        pending_not = False
    if pending_or or pending_not:
        raise _bad(f"{'OR' if pending_or else 'NOT'} at the end needs a search term after it")
    if not groups[-1]:
        raise _bad("type at least one word to search for")
    for g in groups:
        if all(t.negated for t in g):
            raise _bad("a search of only excluded words finds nothing; add a word to look for")
    return Query(tuple(tuple(g) for g in groups))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's schema comparison hook: leave out the search objects the migration creates with
    raw DDL (the FTS5 table and its shadow tables, PostgreSQL's generated tsvector column and its
    index) — exactly those names, so every other table, column and index is still compared."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "column":
        return not (name == PG_COLUMN and getattr(getattr(obj, "table", None), "name", None) == "user_notes")
    return name not in SEARCH_OBJECTS
