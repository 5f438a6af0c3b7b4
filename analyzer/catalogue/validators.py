"""Small checks of the line-safe regex dialect every pattern must use.

Why a dialect: the matcher scans whole multi-megabyte buffers with Hyperscan (multiline
mode), not one line at a time, so a pattern must never match across a newline and must not
rely on ``^`` (lines carry syslog, grep or docker prefixes). Python ``regex`` then re-runs the
same pattern on the one matched line to extract named fields, so the two engines must agree:
no constructs that only one of them supports.
"""

from __future__ import annotations

from typing import Any

import regex

__all__ = ["check_regex", "check_engines", "longest_literal"]

_META = set(".^$*+?{}[]\\|()")


def _walk(rx: str) -> list[tuple[str, str]]:
    """Tokenise a regex into (kind, text): 'esc', 'class', 'group', 'char', 'meta'."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(rx)
    while i < n:
        c = rx[i]
        if c == "\\" and i + 1 < n:
            out.append(("esc", rx[i:i + 2]))
            i += 2
        elif c == "[":
            j = i + 1
            if j < n and rx[j] == "^":
                j += 1
            if j < n and rx[j] == "]":
                j += 1
            while j < n and rx[j] != "]":
                j += 2 if rx[j] == "\\" else 1
            out.append(("class", rx[i:j + 1]))
            i = j + 1
        elif c == "(":
            j = i + 1
            if j < n and rx[j] == "?":
                k = j + 1
                while k < n and rx[k] not in ":)<=!'>P" and not rx[k].isalpha():
                    k += 1
                out.append(("group", rx[i:min(n, i + 4)]))
            else:
                out.append(("group", "("))
            i += 1
        elif c in _META:
            out.append(("meta", c))
            i += 1
        else:
            out.append(("char", c))
            i += 1
    return out


def longest_literal(rx: str) -> str:
    """The longest run of plain characters outside groups' alternations (a speed hint)."""
    best = cur = ""
    for kind, text in _walk(rx):
        if kind == "char":
            cur += text
        elif kind == "esc" and text[1] in " .-/:'\"[](){}*+?|\\":
            cur += text[1]
        else:
            if kind == "meta" and text in "*?{" and cur:
                cur = cur[:-1]  # the last char is optional/repeated
            best = max(best, cur, key=len)
            cur = ""
    return max(best, cur, key=len)


def check_regex(rx: str) -> list[tuple[str, str | None]]:
    """Return (reason, help) for every dialect violation; empty when the regex is fine."""
    problems: list[tuple[str, str | None]] = []
    try:
        regex.compile(rx)
    except regex.error as e:
        return [(f"does not compile: {e}", None)]
    toks = _walk(rx)
    for kind, text in toks:
        if kind == "esc":
            if text in ("\\s", "\\v"):
                problems.append((f"'{text}' can match a newline",
                                 "write ' ' or '[ \\t]' instead"))
            if text[1].isdigit() and text[1] != "0":
                problems.append((f"backreference '{text}' is not supported by the scan engine", None))
            if text in ("\\A", "\\Z", "\\z", "\\G"):
                problems.append((f"anchor '{text}' is meaningless in a whole-buffer scan", None))
        elif kind == "class":
            if text.startswith("[^") and "\\n" not in text:
                problems.append((f"negated class '{text}' can match a newline",
                                 "add \\n to it, e.g. [^'\\n]"))
            if "\\s" in text:
                problems.append((f"class '{text}' contains \\s, which can match a newline",
                                 "write ' \\t' instead"))
        elif kind == "group":
            if text == "(":
                problems.append(("plain capturing group", "use a named group (?P<name>...) or (?:...)"))
            elif text.startswith(("(?=", "(?!", "(?<=", "(?<!")):
                problems.append((f"lookaround '{text}' is not supported by the scan engine", None))
            elif text.startswith("(?P="):
                problems.append(("named backreference is not supported by the scan engine", None))
            elif text.startswith("(?") and len(text) > 2 and text[2].isalpha() and text[2] != "P":
                problems.append((f"inline flags '{text}' are not allowed",
                                 "use 'caseless: true' under match instead of (?i)"))
        elif kind == "meta" and text == "^":
            problems.append(("'^' anchor: lines may carry syslog, grep or docker prefixes",
                             "match the message text without anchoring"))
        elif kind == "meta" and text == "$":
            problems.append(("'$' anchor: lines may end in colour residue or DEBUG suffixes",
                             "match the message text without anchoring"))
    if len(longest_literal(rx)) < 6:
        problems.append(("no literal of 6+ characters: the scan engine's prefilter needs one",
                         "include a distinctive fixed phrase of the message"))
    return problems


def check_engines(rx: str, caseless: bool) -> list[tuple[str, str | None]]:
    """Compile the scan form of ``rx`` with every installed engine; report what they refuse.

    The `regex` module accepts constructs Hyperscan or RE2 do not (atomic groups, possessive
    quantifiers, some Unicode classes): catching them here names the file and line, instead of
    a failure when the whole database is compiled.
    """
    from ..matcher.engines import _strip_names, scan_expression

    problems: list[tuple[str, str | None]] = []
    expr = scan_expression(rx)
    import importlib

    def _optional(name: str) -> Any:
        try:
            return importlib.import_module(name)
        except ImportError:
            return None

    hyperscan = _optional("hyperscan")
    if hyperscan is not None:
        try:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            flags = hyperscan.HS_FLAG_MULTILINE | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
            db.compile(expressions=[expr.encode()], ids=[0], elements=1, flags=[flags])
        except Exception as e:  # noqa: BLE001 - hyperscan.error carries the reason
            problems.append((f"Hyperscan cannot compile it: {e}", "rewrite the construct it names"))
    re2 = _optional("re2")
    if re2 is not None:
        body = _strip_names(expr)
        try:
            re2.compile((f"(?i:{body})" if caseless else body).encode())
        except Exception as e:  # noqa: BLE001 - re2.error
            problems.append((f"RE2 cannot compile it: {e}", "rewrite the construct it names"))
    return problems
