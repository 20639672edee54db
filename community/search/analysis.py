"""The analyzer for indexing and querying: words, lower case, accents folded, stop words out, Porter2 (Snowball English) stems.

Equivalent to Whoosh's ``RegexTokenizer | LowercaseFilter | CharsetFilter |
StopFilter | StemFilter`` chain but in one pass with a per-process cache of
word -> stem, which makes bulk indexing several times faster (Whoosh's chain
runs five generators per token).  The cache lives at module level so that it
is never pickled into the index's table of contents with the schema.
"""
from __future__ import annotations

import re

from whoosh.analysis import STOP_WORDS, Token, Tokenizer
from whoosh.lang.porter2 import exceptional_forms, stem
from whoosh.support.charset import accent_map

#: Whoosh's English stop words minus "not" and "can", which carry meaning in
#: support questions ("can not log in").
STOPWORDS = frozenset(STOP_WORDS - {"not", "can"})
WORD_RE = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)
MIN_SIZE = 2
_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 300_000


def normalize(word: str) -> str:
    """The indexed form of one word ('' for a stop word or a one-letter word)."""
    cached = _CACHE.get(word)
    if cached is not None:
        return cached
    low = word.lower()
    if not low.isascii():
        low = low.translate(accent_map)
    out = "" if len(low) < MIN_SIZE or low in STOPWORDS else stem(low)
    if len(_CACHE) < _CACHE_LIMIT:
        _CACHE[word] = out
    return out


def stem_set(text: str) -> set[str]:
    """The distinct stems of ``text`` as the index holds them (stop words out), for rules that
    compare a text's words with a query's outside the index."""
    return {out for word in WORD_RE.findall(text or "") if (out := normalize(word))}


#: Words whose stem does not begin with the word's own first two letters ("dying" -> "die"):
#: Porter2's exceptional forms; every other stem keeps them (suffixes go, the start stays).
_OTHER_OPENINGS: dict[str, set[str]] = {}
for _word, _stem in exceptional_forms.items():
    if _word[:2] != _stem[:2]:
        _OTHER_OPENINGS.setdefault(_stem[:2], set()).add(_word[:2])


def openings(stems) -> frozenset[str] | None:
    """The lower-case openings (first two letters) a word must have to be analyzed to one
    of ``stems``, for :func:`may_be_one_of` (``None``: any word may be, when a stem is shorter).

    Snippets and term proximity look for a query's few stems in long stored texts; most of
    their words cannot be one of them and need no stemming (Porter2 on words not seen
    before was a third of a cold suggestion's time at 100,000 threads)."""
    out = set()
    for term in stems:
        if len(term) < 2:
            return None
        out.add(term[:2])
        out.update(_OTHER_OPENINGS.get(term[:2], ()))
    return frozenset(out)


def may_be_one_of(word: str, opening: frozenset[str] | None) -> bool:
    """False only when ``normalize(word)`` cannot be one of the stems ``opening`` was made
    from: an ASCII word keeps its first two letters, lower-cased, through stemming (suffixes
    go, the start stays; Porter2's exceptional forms are in ``_OTHER_OPENINGS``, a word of
    fewer letters is a stop word or itself).  Any other word is analyzed (accent folding may
    change its opening)."""
    if opening is None:
        return True
    head = word[:2]
    return not head.isascii() or head.lower() in opening


class SupportAnalyzer(Tokenizer):
    """A Whoosh tokenizer that is the whole analyzer (see the module docstring)."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        if not tokenize:
            matches = [re.match(r".*", value, re.S)]
        else:
            matches = WORD_RE.finditer(value)
        for match in matches:
            word = match.group()
            text = normalize(word)
            if not text:
                if removestops:
                    continue
                token.stopped = True
            else:
                token.stopped = False
            token.text = text or word.lower()
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token
