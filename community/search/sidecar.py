"""Files kept beside each Whoosh segment: what every process would otherwise rebuild from it.

A segment never changes once written, so whatever is derived from it can be written once,
beside it, instead of once per process.  Today that is the typo correction's term sets
(every title and question term of the segment, :meth:`postings.SegmentColumns.words`):
read from Whoosh's term index they cost ~35 ms per 20,000 threads and field in every
process, the first time a suggestion holds an unknown word (~175 ms at 100,000 threads).

- **Written after every commit** (:func:`write_missing`, called by the writers that
  :meth:`WhooshIndex.writer` hands out: web commits, merges, the bulk import, ``flask
  search rebuild``), for every segment of the new generation that has none yet, so an index
  written before this module gets its files at its next commit.  The content is a pure
  function of the immutable segment, written to a dot-file then renamed: two writers (or a
  writer and a reader) can never see half a file, and writing twice writes the same bytes.
- **Deleted with their segment**: the name ``<segment id>.cmwords`` matches Whoosh's own
  pattern of a segment's files, so Whoosh's ``clean_files`` removes it with the segment.
- **Checked on every read** (magic, version, segment id, document count, CRC32): a missing,
  stale or corrupt file answers ``None`` and the caller reads Whoosh's index as before.
"""
from __future__ import annotations

import json
import logging
import os
import zlib
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"CMWORDS1\n"
SUFFIX = ".cmwords"
#: The fields whose term sets typo correction looks candidates up in (``query.TYPO_FIELDS``;
#: not imported from there: query imports postings, which imports this).
WORD_FIELDS = ("title", "question")


def folder_of(reader) -> Path | None:
    """The index directory of a segment reader (``None`` for storage that is not a folder)."""
    storage = reader._storage
    folder = getattr(storage, "folder", None) or getattr(getattr(storage, "b", None), "folder", None)
    return Path(folder) if folder else None


def words_path(folder: Path, segment_id: str) -> Path:
    return folder / (segment_id + SUFFIX)


def read_words(reader) -> dict[str, frozenset[str]] | None:
    """The term sets of this segment (by field) from its file, or ``None`` (missing, stale, corrupt)."""
    folder = folder_of(reader)
    if folder is None:
        return None
    segment = reader._segment
    try:
        data = words_path(folder, segment.segment_id()).read_bytes()
    except OSError:
        return None
    try:
        return _parse(data, segment.segment_id(), reader.doc_count_all())
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        log.warning("Sidecar of %s unusable (%s): reading the index instead.", segment.segment_id(), exc)
        return None


def _parse(data: bytes, segment_id: str, doccount: int) -> dict[str, frozenset[str]]:
    header, body = _checked(data, segment_id, doccount)
    out = {}
    for field, (start, length) in header["fields"].items():
        text = bytes(body[start:start + length]).decode("utf-8")
        out[field] = frozenset(text.split("\n")) if text else frozenset()
    return out


def _checked(data: bytes, segment_id: str, doccount: int) -> tuple[dict, memoryview]:
    """The header and body of a term-set file, once it is known to be this segment's, whole."""
    if not data.startswith(MAGIC):
        raise ValueError("not a term-set file")
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC):end])
    body = memoryview(data)[end + 1:]
    if header.get("segment") != segment_id or header.get("doccount") != doccount:
        raise ValueError("written for another segment")
    if len(body) != header["length"] or zlib.crc32(body) != header["crc32"]:
        raise ValueError("truncated or corrupt")
    return header, body


def segment_words(reader, field: str) -> frozenset[str]:
    """Every term of ``field`` in a segment, from Whoosh's term index (~3 µs a term)."""
    terms = reader._terms
    prefix = terms._keycoder(field, b"")
    found = []
    for key in terms._tindex.keys_from(prefix):
        if not key.startswith(prefix):
            break
        found.append(key[len(prefix):].decode("utf-8"))
    return frozenset(found)


def write_words(reader, folder: Path) -> Path:
    """Write the term-set file of one segment (atomically: a dot-file renamed into place)."""
    segment_id = reader._segment.segment_id()
    fields, parts, at = {}, [], 0
    for field in WORD_FIELDS:
        blob = "\n".join(sorted(segment_words(reader, field))).encode("utf-8") if field in reader.schema else b""
        fields[field] = [at, len(blob)]
        parts.append(blob)
        at += len(blob)
    body = b"".join(parts)
    header = {"segment": segment_id, "doccount": reader.doc_count_all(), "fields": fields,
              "length": len(body), "crc32": zlib.crc32(body)}
    target = words_path(folder, segment_id)
    temp = folder / f".{segment_id}{SUFFIX}.{os.getpid()}.tmp"  # a dot-file: Whoosh's cleaner skips it
    try:
        with open(temp, "wb") as out:
            out.write(MAGIC + json.dumps(header).encode() + b"\n" + body)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def write_missing(ix) -> list[str]:
    """After a commit: the term-set file of every current segment that has none (or a bad one).

    Never raises: a file that could not be written only leaves readers on Whoosh's path.
    Returns the segment ids written."""
    written = []
    if not getattr(ix.storage, "folder", None):
        return written  # an index in memory: nothing beside it
    try:
        folder = Path(ix.storage.folder)
        with ix.reader() as reader:
            for leaf, _offset in reader.leaf_readers():
                segment = getattr(leaf, "_segment", None)
                if segment is None:
                    continue  # an empty index
                path = words_path(folder, segment.segment_id())
                if path.exists() and _valid(path, segment.segment_id(), leaf.doc_count_all()):
                    continue
                write_words(leaf, folder)
                written.append(segment.segment_id())
    except Exception:  # noqa: BLE001 - a sidecar must never fail the commit that already happened
        log.exception("Writing the search index's sidecar files failed (readers use the index).")
    return written


def _valid(path: Path, segment_id: str, doccount: int) -> bool:
    try:
        _checked(path.read_bytes(), segment_id, doccount)
        return True
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        return False
