"""Ranked, typo-tolerant, offline search over the published offers and practices (pure; no store, no Streamlit).

`Index.build(entries)` precomputes everything once; `Index.search(query, area=..., region=..., format=...,
kind=..., limit=...)` then answers in milliseconds. `entries` is one row per published entry with the columns
`kind` ("offer" / "practice"), `id`, `state`, `state_name`, `program_area` (a slug of `catalog.AREA_SLUGS`),
`region` (FEMA region 1-10, or NaN), `formats` (comma-separated format slugs; "" for practices), `title` and
`text` (every other searchable text of the entry, joined). Missing optional columns are read as empty.

Words. `tokenize` folds the text (Unicode NFKD with the accents dropped, case-folded), splits it on anything that
is not a letter or a digit, drops one-character tokens and the small English `STOP_WORDS` list, and stems what is
left with `stem` (plurals, -ies/-ied to -y, -ing, -ed, a final -e, a doubled final consonant: "exercises",
"exercised" and "exercising" are all "exercis"). The same function reads the entries and the query.

Ranking. BM25 (k1 = 1.2) summed over three fields, each saturated on its own: the title (weight `TITLE_WEIGHT`
= 3, b = 0.3), the text (weight 1, b = 0.75), and the tags (weight 1, no length normalisation): the state's name
and USPS code, the program area's label and short label, and the offer's formats, so "virginia exercises" or
"teleconference" find entries that never spell those words out. A word once in the title outscores the same word
any number of times in the text alone. The idf is over all fields.

Matching. Every query word (stop words aside; the first `MAX_QUERY_WORDS` distinct ones) must match an entry for
the entry to count (AND). A query word matches a vocabulary word when, after stemming:
- it is the same word (full score);
- it is a typo of it (letters only, and only when the query word is not itself in the vocabulary, or is at least
  `TYPO_WHEN_RARER` times rarer than the correction): edit distance 1 (insert, delete, substitute, or swap two
  neighbours) for a word of 4+ letters, 2 for 8+ letters; only the closest corrections are kept, scored ×0.7 at
  distance 1 and ×0.5 at distance 2. Candidates come from a deletion-neighbourhood index (SymSpell) built once in
  `build`: every vocabulary word with up to 2 letters deleted, hashed and sorted, so a lookup is a binary search
  of the query word's own deletions, and only those candidates have their distance computed;
- the last word of a query still being typed (not ended by a space or punctuation) also matches every word that
  starts with it, as written (e.g. "interop" finds "interoperability"), scored ×0.75; the `MAX_PREFIX_TERMS` most
  common completions are kept.
An entry's score for a word is its best such match, and its score is the sum over the words.
If no entry (after the filters) matches every word, the search falls back to entries matching any word (OR),
each scored by its sum × (words matched / query words), so entries matching more words come first and every
fallback score is lower than the same entry would score matching them all.

Result: the entries' columns plus `score` (float, higher is better, rounded to 6 decimals) and `matched` (the query
words that matched, comma-separated, with the word they matched when it was a typo or a completion:
"exercize→exercise"), best first; ties by kind, then state, then id. A query with no searchable words (empty,
punctuation, stop words only) lists every entry passing the filters, by title, with score 0.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shisn.domain import catalog

COLUMNS = ("kind", "id", "state", "state_name", "program_area", "region", "formats", "title", "text")

K1 = 1.2
TITLE_WEIGHT, TITLE_B = 3.0, 0.3
TEXT_WEIGHT, TEXT_B = 1.0, 0.75
TAGS_WEIGHT = 1.0  # tags have no length normalisation (b = 0)

TYPO_FACTORS = {1: 0.7, 2: 0.5}  # score factor of a typo match at edit distance 1 / 2
PREFIX_FACTOR = 0.75  # score factor of a completion of the word still being typed
TYPO_MIN_LEN = 4  # a query word (stemmed) of at least this many letters matches at edit distance 1 ...
TYPO2_MIN_LEN = 8  # ... and of at least this many at distance 2
TYPO_MAX_LEN = 24  # longer words (codes, run-together strings) are not in the typo index
TYPO_WHEN_RARER = 10  # a word in the vocabulary also gets corrections that are this many times more common
PREFIX_MIN_LEN = 2  # the word being typed completes once it has this many characters
MAX_PREFIX_TERMS = 50  # at most this many completions (the most common)
MAX_QUERY_WORDS = 32  # a longer query is cut to its first 32 distinct words

STOP_WORDS = frozenset(
    """a about after all also am an and any are as at be been being both but by can could did do does doing for
    from had has have having he her here hers him his how i if in into is it its itself just me more most my no nor
    not of off on once only or other our ours out over own same she should so some such than that the their theirs
    them then there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours""".split()
)

_WORD = re.compile(r"[^\W_]+")
_VOWELS = frozenset("aeiouy")


def fold(text) -> str:
    """Case-folded, accents dropped (NFKD): 'Café Étude' -> 'cafe etude'. None and NaN are ''."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = str(text)
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return s.casefold()


def _has_vowel(s: str) -> bool:
    return any(c in _VOWELS for c in s)


def stem(word: str) -> str:
    """A light, symmetric English stemmer on a folded word: plurals, -ies/-ied -> y, -ing, -ed, a final e, a doubled
    final consonant. Words of 3 characters or fewer, and words with digits, are kept as they are."""
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if len(w) > 4 and (w.endswith("ies") or w.endswith("ied")):
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6 and _has_vowel(w[:-3]):
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5 and _has_vowel(w[:-2]):
        w = w[:-2]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in _VOWELS:
        w = w[:-1]
    return w


def words(text) -> list[str]:
    """The folded words of `text` that count: no stop words, no one-character tokens (not stemmed)."""
    return [w for w in _WORD.findall(fold(text)) if len(w) > 1 and w not in STOP_WORDS]


def tokenize(text) -> list[str]:
    """The searchable tokens of `text`: folded, split, stop words dropped, stemmed ('Tabletop Exercises' ->
    ['tabletop', 'exercis'])."""
    return [stem(w) for w in words(text)]


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap of two neighbours), or `limit` + 1 when
    it is larger than `limit`."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ca = a[i - 1]
        row_min = i
        for j in range(1, lb + 1):
            cb = b[j - 1]
            cost = 0 if ca == cb else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            if v < row_min:
                row_min = v
        if row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[lb] if prev[lb] <= limit else limit + 1


def _deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made from it by deleting up to `depth` characters."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _saturate(tf: np.ndarray, length: np.ndarray, avg: float, b: float) -> np.ndarray:
    norm = 1.0 - b + b * length / max(avg, 1e-9)
    return tf * (K1 + 1.0) / (tf + K1 * norm)


@dataclass(frozen=True)
class _Word:
    """One query word: as typed (folded), its stem, and the vocabulary terms it matches: term id -> (factor,
    how) with how in 'exact', 'typo', 'prefix'."""

    raw: str
    stem: str
    terms: dict[int, tuple[float, str]]


class Index:
    """A search index over published offers and practices; see the module docstring for the rules."""

    def __init__(self) -> None:  # use Index.build
        self._entries = pd.DataFrame(columns=list(COLUMNS))
        self._n = 0
        self._stems: list[str] = []
        self._stem_id: dict[str, int] = {}
        self._display: list[str] = []
        self._df = np.zeros(0, dtype=np.int64)
        self._offsets = np.zeros(1, dtype=np.int64)
        self._post_docs = np.zeros(0, dtype=np.int32)
        self._post_w = np.zeros(0, dtype=np.float64)
        self._surfaces: list[str] = []
        self._surface_tid = np.zeros(0, dtype=np.int64)
        self._del_hash = np.zeros(0, dtype=np.int64)
        self._del_tid = np.zeros(0, dtype=np.int32)
        self._tie_rank = np.zeros(0, dtype=np.int64)
        self._title_order = np.zeros(0, dtype=np.int64)
        self._kind = np.zeros(0, dtype=object)
        self._area = np.zeros(0, dtype=object)
        self._region = np.zeros(0, dtype=np.float64)
        self._formats: dict[str, np.ndarray] = {}

    # --- building ----------------------------------------------------------------------------------------------------

    @classmethod
    def build(cls, entries: pd.DataFrame) -> Index:
        """Tokenise every entry, weigh every (term, entry) pair with BM25, and index the vocabulary for typos and
        completions. `entries` as in the module docstring; its rows are kept (index reset) for the results."""
        self = cls()
        df = entries.reset_index(drop=True).copy() if entries is not None else pd.DataFrame()
        for col in COLUMNS:
            if col not in df.columns:
                df[col] = np.nan if col == "region" else ""
        n = len(df)
        self._entries, self._n = df, n

        def col(name: str) -> list[str]:
            return [fold(v) for v in df[name].tolist()]

        kinds, states, titles = col("kind"), col("state"), df["title"].tolist()
        areas = [str(v).strip() if isinstance(v, str) else "" for v in df["program_area"].tolist()]
        self._kind = np.array([k.strip() for k in kinds], dtype=object)
        self._area = np.array(areas, dtype=object)
        self._region = pd.to_numeric(df["region"], errors="coerce").to_numpy(dtype=np.float64)

        fmt_lists = [[f.strip() for f in fold(v).split(",") if f.strip()] for v in df["formats"].tolist()]
        by_format: dict[str, np.ndarray] = {}
        for i, fl in enumerate(fmt_lists):
            for f in fl:
                by_format.setdefault(f, np.zeros(n, dtype=bool))[i] = True
        self._formats = by_format

        # deterministic orders: ties by kind, state, id; the empty query by title
        ids = df["id"].tolist()
        id_key = [
            (0, float(v), "") if isinstance(v, (int, float, np.integer, np.floating)) else (1, 0.0, str(v)) for v in ids
        ]
        tie = sorted(range(n), key=lambda i: (kinds[i], states[i], id_key[i]))
        self._tie_rank = np.empty(n, dtype=np.int64)
        self._tie_rank[tie] = np.arange(n)
        self._title_order = np.array(
            sorted(range(n), key=lambda i: (fold(titles[i]), self._tie_rank[i])), dtype=np.int64
        )

        # tokens, field by field: term ids and the entry each belongs to
        surface_tid: dict[str, int] = {}
        surface_count: Counter[str] = Counter()
        stem_id = self._stem_id
        stems = self._stems

        def term_ids(ws: list[str]) -> list[int]:
            out = []
            for w in ws:
                t = surface_tid.get(w)
                if t is None:
                    s = stem(w)
                    t = stem_id.get(s)
                    if t is None:
                        t = stem_id[s] = len(stems)
                        stems.append(s)
                    surface_tid[w] = t
                out.append(t)
            return out

        labels: dict[str, str] = {}
        for a in set(areas):
            if a in catalog.AREAS_BY_SLUG:
                labels[a] = f"{catalog.area_label(a)} {catalog.area_short(a)}"
            else:
                labels[a] = a.replace("_", " ")
        fields = []
        for name, texts in (
            ("title", titles),
            ("text", df["text"].tolist()),
            (
                "tags",
                [
                    f"{fold(sn)} {st} {labels[a]} {' '.join(f.replace('_', ' ') for f in fl)}"
                    for sn, st, a, fl in zip(df["state_name"].tolist(), states, areas, fmt_lists)
                ],
            ),
        ):
            t_all: list[int] = []
            lengths = np.zeros(n, dtype=np.float64)
            docs_all: list[np.ndarray] = []
            for i, text in enumerate(texts):
                ws = words(text)
                if name == "tags":
                    ws = list(dict.fromkeys(ws))  # a tag counts once
                else:
                    surface_count.update(ws)
                tids = term_ids(ws)
                t_all.extend(tids)
                lengths[i] = len(tids)
                docs_all.append(np.full(len(tids), i, dtype=np.int64))
            docs = np.concatenate(docs_all) if docs_all else np.zeros(0, dtype=np.int64)
            fields.append((name, np.asarray(t_all, dtype=np.int64), docs, lengths))

        v = len(stems)
        keys_parts, vals_parts = [], []
        for name, terms, docs, lengths in fields:
            if not len(terms):
                continue
            key, tf = np.unique(terms * max(n, 1) + docs, return_counts=True)
            d = key % max(n, 1)
            if name == "title":
                w = TITLE_WEIGHT * _saturate(tf, lengths[d], lengths.mean(), TITLE_B)
            elif name == "text":
                w = TEXT_WEIGHT * _saturate(tf, lengths[d], lengths.mean(), TEXT_B)
            else:
                w = TAGS_WEIGHT * _saturate(tf, lengths[d], 1.0, 0.0)
            keys_parts.append(key)
            vals_parts.append(w)
        if keys_parts:
            key, inv = np.unique(np.concatenate(keys_parts), return_inverse=True)
            field_sum = np.bincount(inv, weights=np.concatenate(vals_parts))
            term = key // n
            docs = key % n
        else:
            field_sum = np.zeros(0)
            term = docs = np.zeros(0, dtype=np.int64)
        dfreq = np.bincount(term, minlength=v).astype(np.int64)
        idf = np.log1p((n - dfreq + 0.5) / (dfreq + 0.5))
        self._df = dfreq
        self._offsets = np.concatenate([[0], np.cumsum(dfreq)]).astype(np.int64)
        self._post_docs = docs.astype(np.int32)
        self._post_w = idf[term] * field_sum

        # what a term is shown as: its most common spelling in titles and texts (else any), ties alphabetical
        best: dict[int, tuple[int, str]] = {}
        for w, t in surface_tid.items():
            c = surface_count.get(w, 0)
            cur = best.get(t)
            if cur is None or c > cur[0] or (c == cur[0] and w < cur[1]):
                best[t] = (c, w)
        self._display = [best[t][1] if t in best else s for t, s in enumerate(stems)]

        # completions: every spelling, sorted, with its term
        self._surfaces = sorted(surface_tid)
        self._surface_tid = np.array([surface_tid[w] for w in self._surfaces], dtype=np.int64)
        self._build_typo_index()
        return self

    def _build_typo_index(self) -> None:
        """SymSpell: every letters-only term of 3-24 letters with up to 1 (2 from 6 letters on) deleted, hashed;
        sorted by hash so a query word's own deletions are found by binary search."""
        hashes: list[int] = []
        tids: list[int] = []
        for t, s in enumerate(self._stems):
            if 3 <= len(s) <= TYPO_MAX_LEN and s.isalpha():
                dels = _deletions(s, 2 if len(s) >= TYPO2_MIN_LEN - 2 else 1)
                hashes.extend(hash(d) for d in dels)
                tids.extend([t] * len(dels))
        h = np.array(hashes, dtype=np.int64)
        order = np.argsort(h, kind="stable")
        self._del_hash = h[order]
        self._del_tid = np.array(tids, dtype=np.int32)[order]

    # the typo index holds str hashes, which differ between processes: rebuild it when unpickled
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_del_hash", None)
        state.pop("_del_tid", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._build_typo_index()

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<search.Index: {self._n} entries, {len(self._stems)} terms>"

    # --- matching ----------------------------------------------------------------------------------------------------

    def _typos(self, s: str) -> list[tuple[int, int]]:
        """(term id, distance) of the closest vocabulary terms within the allowed distance of `s` (a stem)."""
        if len(s) < TYPO_MIN_LEN or len(s) > TYPO_MAX_LEN or not s.isalpha() or not len(self._del_hash):
            return []
        limit = 2 if len(s) >= TYPO2_MIN_LEN else 1
        q = np.fromiter((hash(d) for d in _deletions(s, limit)), dtype=np.int64)
        lo = np.searchsorted(self._del_hash, q, side="left")
        hi = np.searchsorted(self._del_hash, q, side="right")
        cand = {int(t) for a, b in zip(lo, hi) if b > a for t in self._del_tid[a:b]}
        found = []
        for t in cand:
            d = edit_distance(s, self._stems[t], limit)
            if 0 < d <= limit:
                found.append((t, d))
        if not found:
            return []
        best = min(d for _, d in found)
        return sorted((t, d) for t, d in found if d == best)

    def _completions(self, raw: str) -> list[int]:
        """Terms with a spelling that starts with `raw`, the most common first, at most MAX_PREFIX_TERMS."""
        lo = bisect.bisect_left(self._surfaces, raw)
        hi = bisect.bisect_left(self._surfaces, raw + "\U0010ffff")
        if hi <= lo:
            return []
        tids = np.unique(self._surface_tid[lo:hi])
        if len(tids) > MAX_PREFIX_TERMS:
            order = np.lexsort((tids, -self._df[tids]))
            tids = tids[order[:MAX_PREFIX_TERMS]]
        return [int(t) for t in tids]

    def _parse(self, query: str) -> list[_Word]:
        raw_words = words(query)
        typing = bool(raw_words) and fold(query).endswith(raw_words[-1])  # nothing after the last word
        out: dict[str, _Word] = {}
        for pos, raw in enumerate(raw_words):
            s = stem(raw)
            last = typing and pos == len(raw_words) - 1
            if s in out and not last:
                continue
            terms: dict[int, tuple[float, str]] = {}

            def offer(t: int, factor: float, how: str) -> None:
                if t not in terms or terms[t][0] < factor:
                    terms[t] = (factor, how)

            exact = self._stem_id.get(s)
            if exact is not None:
                offer(exact, 1.0, "exact")
            for t, d in self._typos(s):
                if exact is None or self._df[t] >= TYPO_WHEN_RARER * self._df[exact]:
                    offer(t, TYPO_FACTORS[d], "typo")
            if last and len(raw) >= PREFIX_MIN_LEN:
                for t in self._completions(raw):
                    offer(t, PREFIX_FACTOR, "prefix")
            if s in out:  # the word being typed repeats an earlier one: one word, with its completions
                for t, (f, how) in out[s].terms.items():
                    offer(t, f, how)
                raw = out[s].raw
            out[s] = _Word(raw, s, terms)
            if len(out) >= MAX_QUERY_WORDS:
                break
        return list(out.values())

    def _mask(self, area, region, format, kind) -> np.ndarray | None:
        mask = None

        def both(m: np.ndarray) -> np.ndarray:
            return m if mask is None else mask & m

        if area is not None and str(area).strip():
            slug = catalog.area_slug(str(area)) or str(area).strip()
            mask = both(self._area == slug)
        if region is not None and not (isinstance(region, float) and math.isnan(region)):
            try:
                r = float(region)
            except (TypeError, ValueError):
                r = math.nan
            mask = both(self._region == r)
        if format is not None and str(format).strip():
            f = fold(format).strip().replace("-", "_").replace(" ", "_")
            mask = both(self._formats.get(f, np.zeros(self._n, dtype=bool)))
        if kind is not None and str(kind).strip():
            k = fold(kind).strip()
            if k not in ("offer", "practice") and k.endswith("s"):
                k = k[:-1]
            mask = both(self._kind == k)
        return mask

    # --- searching ---------------------------------------------------------------------------------------------------

    def search(
        self,
        query: str = "",
        *,
        area: str | None = None,
        region: int | None = None,
        format: str | None = None,
        kind: str | None = None,
        limit: int | None = 50,
    ) -> pd.DataFrame:
        """The entries matching `query` and the filters, best first: the entries' columns plus `score` and
        `matched`. AND over the query words, falling back to OR (ranked lower) when nothing matches them all; an
        empty query lists the filtered entries by title. `limit` None returns every match."""
        query = "" if query is None else str(query)
        mask = self._mask(area, region, format, kind)
        qwords = self._parse(query) if self._n else []
        if limit is not None and limit <= 0:
            return self._frame(np.zeros(0, dtype=np.int64), np.zeros(0), [])
        if not qwords:
            order = self._title_order if mask is None else self._title_order[mask[self._title_order]]
            if limit is not None:
                order = order[:limit]
            return self._frame(order, np.zeros(len(order)), [""] * len(order))

        n = self._n
        total = np.zeros(n)
        hits = np.zeros(n, dtype=np.int64)
        best_terms = []
        for w in qwords:
            ws = np.zeros(n)
            bt = np.full(n, -1, dtype=np.int64)
            for t, (factor, _how) in w.terms.items():
                a, b = self._offsets[t], self._offsets[t + 1]
                docs = self._post_docs[a:b]
                vals = self._post_w[a:b] * factor
                better = vals > ws[docs]
                if better.all():
                    ws[docs] = vals
                    bt[docs] = t
                else:
                    d = docs[better]
                    ws[d] = vals[better]
                    bt[d] = t
            total += ws
            hits += ws > 0
            best_terms.append(bt)

        k = len(qwords)
        ok = hits == k
        if mask is not None:
            ok &= mask
        if not ok.any():  # OR fallback: any word, scored by the share of the words matched
            ok = hits > 0
            if mask is not None:
                ok &= mask
            total = total * hits / k
        cand = np.flatnonzero(ok)
        scores = np.round(total[cand], 6)
        order = cand[np.lexsort((self._tie_rank[cand], -scores))]
        if limit is not None:
            order = order[:limit]
        matched = []
        for i in order:
            parts = []
            for w, bt in zip(qwords, best_terms):
                t = int(bt[i])
                if t < 0:
                    continue
                how = w.terms[t][1]
                shown = self._display[t]
                parts.append(w.raw if how == "exact" or shown == w.raw else f"{w.raw}→{shown}")
            matched.append(", ".join(parts))
        return self._frame(order, np.round(total[order], 6), matched)

    def _frame(self, rows: np.ndarray, scores: np.ndarray, matched: list[str]) -> pd.DataFrame:
        out = self._entries.iloc[rows].reset_index(drop=True)
        out["score"] = np.asarray(scores, dtype=np.float64)
        out["matched"] = pd.Series(matched, dtype=object)
        return out
