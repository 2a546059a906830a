"""Text as PhotoPrism makes it: slugs, generated titles and label names, keywords from text,
the title/description/subject of an XMP file, and which metadata source wins over another
(``internal/entity/src.go``, ``pkg/txt``)."""

from __future__ import annotations

import re
import unicodedata
from html import unescape as html_unescape


def _slug(title: str) -> str:
    """``txt.Slug`` (gosimple/slug): accents dropped, lower case, other runs of characters
    "-"; at most 80 characters."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")


# ``clean.Name``: characters a name loses.
_NAME_DROPPED = frozenset('"$%\\*`;<>{}')


# ``txt.SmallWords`` (an excerpt: English, French, Dutch, German): lower case after the first
# word. ``txt.SpecialWords`` (an excerpt): written their own way wherever they stand.
_SMALL_WORDS = frozenset({
    "a", "an", "as", "at", "by", "in", "of", "on", "or", "up", "to", "and", "but", "for",
    "nor", "the", "from", "with", "de", "des", "en", "le", "la", "au", "van", "zu", "ab",
    "um", "bei", "aus", "das", "der", "dem", "auf", "und", "von", "für", "ein", "eine"})


_SPECIAL_WORDS = {"tv": "TV", "ii": "II", "iii": "III", "xl": "XL", "usd": "USD",
                  "iphone": "iPhone", "ipad": "iPad", "muenchen": "München",
                  "nuernberg": "Nürnberg", "mcdonalds": "McDonald's"}


def _title_separator(char: str) -> bool:
    """``txt.isSeparator``: ASCII other than letters, digits, "_" and "'"; beyond ASCII only
    white space."""
    if char.isascii():
        return not (char.isalnum() or char in "_'")
    return not char.isalnum() and char.isspace()


def _title_case(text: str) -> str:
    """``txt.Title``: "_" read as a space, "/", " " and "-" trimmed from the ends, each block
    between slashes made of its words joined by one space, the blocks joined by " / "; in each
    word the first letter and every letter after a separator upper case, the rest as it was
    ("NEW zealand" → "NEW Zealand", "x-ray" → "X-Ray"), small words after the first lower
    case, special words their own way."""
    text = text.replace("_", " ").strip("/ -")
    blocks = []
    for block in text.split("/"):
        words = block.split()
        for i, word in enumerate(words):
            search = word.strip(":.,;!?").lower()
            if search in _SPECIAL_WORDS:
                words[i] = word.lower().replace(search, _SPECIAL_WORDS[search], 1)
            elif i > 0 and search in _SMALL_WORDS:
                words[i] = word.lower()
            else:
                prev, chars = " ", []
                for char in word:
                    upper = char.upper()
                    chars.append(upper if _title_separator(prev) and len(upper) == 1
                                 else char)
                    prev = char
                words[i] = "".join(chars)
        if words:
            blocks.append(" ".join(words))
    return " / ".join(blocks)


def _label_name(name: str) -> str:
    """The name a 2026 server gives a label asked for by ``name`` (``normalizeLabelName``:
    ``clean.NameCapitalized``, at most 160 characters); "" for one it refuses (400 "Invalid
    name"). As a real 260630 answered: "Travel/Italy" → "Travel / Italy", "boat" → "Boat",
    "new york" → "New York", "lake of the woods" → "Lake of the Woods", "a_b" → "A B",
    "semi;colon" → "Semicolon", "  two   spaces " → "Two Spaces", "muenchen" → "München",
    "iPhone" → "iPhone", "tv" → "TV"; "", "   " and "${bad}" refused."""
    if "${" in name or "ldap://" in name:
        return ""
    chars, prev = [], ""
    for char in name:
        if char == " " and prev in ("", " "):
            continue
        prev = char
        if ord(char) < 32 or ord(char) == 127 or char in _NAME_DROPPED:
            continue
        chars.append(char)
    return _title_case("".join(chars).strip()[:160])[:160].strip()


_DETAIL_KEYS = ("Keywords", "KeywordsSrc", "Notes", "NotesSrc", "Subject", "SubjectSrc", "Artist",
                "ArtistSrc", "Copyright", "CopyrightSrc", "License", "LicenseSrc")


# SrcPriority (internal/entity/src.go): a value from a lower source never replaces one from a
# higher source; an index sets what the file says with "meta" (or "xmp" from an XMP sidecar).
_SRC_PRIORITY = {
    "": 1, "default": 1, "estimate": 2, "file": 2, "name": 4, "yaml": 8, "location": 8,
    "marker": 8, "image": 8, "title": 16, "caption": 16, "subject": 16, "keyword": 16,
    "meta": 16, "xmp": 32, "batch": 64, "vision": 64, "manual": 64, "admin": 128,
}


def _src_wins(new: str, current: str) -> bool:
    """``SetTitle``/``SetCaption``/``SetKeywords``: may a value from ``new`` replace one from
    ``current``?"""
    return _SRC_PRIORITY.get(new, 0) >= _SRC_PRIORITY.get(current, 0)


_WORD = re.compile(r"(?:[^\W_]|[-'])+")


def _keyword_words(text: str) -> str:
    """What ``SavePhotoForm`` stores as Details.Keywords: ``txt.Words`` (runs of letters,
    digits, "-" and "'"; single Latin letters and numbers dropped), then ``txt.UniqueWords``
    (lower case, sorted, unique), joined with ", ". "New York, Travel" → "new, travel, york"."""
    words = []
    for w in _WORD.findall(text):
        w = w.strip("- '")
        if not w or (len(w.encode()) < 2 and w.isascii()) or (
                w[0].isdigit() and w[-1].isdigit()):
            continue
        words.append(w)
    out: list[str] = []
    for w in sorted(words, key=str.lower):
        w = w.lower().strip("- '")
        if w and not (len(w.encode()) < 2 and w.isascii()) and (not out or out[-1] != w):
            out.append(w)
    return ", ".join(out)


_XMP_TEXT = re.compile(r"<dc:(title|description)>.*?<rdf:li[^>]*>(.*?)</rdf:li>", re.S)


_XMP_SUBJECT = re.compile(r"<dc:subject>(.*?)</dc:subject>", re.S)


_XMP_LI = re.compile(r"<rdf:li[^>]*>(.*?)</rdf:li>", re.S)


def _xmp_fields(data: bytes, new_api: bool) -> dict[str, str]:
    """Title, caption and dc:subject of an XMP sidecar (``internal/meta/xmp*.go``), as an
    index reads them. Dec 2024 servers take dc:subject for the keywords; 2026 servers for
    ``Details.Subject`` only, never the keywords (seen on 260630: "harbour, boat" → Subject
    "harbour, boat" with SubjectSrc "xmp", Keywords untouched)."""
    text = data.decode("utf-8", "replace")
    found = {("title" if k == "title" else "caption"): html_unescape(v.strip())
             for k, v in _XMP_TEXT.findall(text)}
    subject = _XMP_SUBJECT.search(text)
    if subject:
        found["subject" if new_api else "keywords"] = ", ".join(
            html_unescape(k.strip()) for k in _XMP_LI.findall(subject.group(1)) if k.strip())
    return found
