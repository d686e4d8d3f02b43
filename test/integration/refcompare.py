"""Compare text output with a captured Apache ZooKeeper reference, values generalised.

Every reference line becomes a regex: literal text stays literal (keys, separators, tabs,
punctuation), while values become wildcards of the same kind:

  version   3.8.0-<anything>, built on YYYY-MM-DD HH:MM TZ  (ZooKeeper's version line)
  date      Sat Nov 21 02:33:14 UTC 2026                      (java.util.Date.toString)
  ip:port   /127.0.0.1:58694 (connection lists) or 127.0.0.1:2181 (host:port)
  hex       0x1f (lower-case hex, any length)
  decimal   5.2857  -> digits '.' digits  (a Java double stays a double)
  integer   -12     -> optional '-', digits (a long stays a long)

Line count, order, blank lines and whether the text ends with a newline are compared
exactly.  `kinds` limits which of these are generalised (zkCli output keeps its decimal
numbers literal: cversion, dataLength... are defined by the command sequence).  Runs of consecutive indented lines (starting with a space or a tab: connection
lists, watch lists) are compared as multisets, since ZooKeeper prints them in hash order.
"""

import re

DATE_RE = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d [A-Z]{2,5} \d{4}"
VERSION_RE = r"3\.8\.\d+-\S*, built on \d{4}-\d\d-\d\d \d\d:\d\d \S+"

_TOKENS = [
    ("version", re.compile(r"3\.8\.\d+-\S*, built on \d{4}-\d\d-\d\d \d\d:\d\d [A-Z]+"),
     VERSION_RE),
    ("date", re.compile(DATE_RE), DATE_RE),
    ("ipport", re.compile(r"/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+"),
     r"/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+"),
    ("hostport", re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+"),
     r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+"),
    ("hex", re.compile(r"0x[0-9a-f]+"), r"0x[0-9a-f]+"),
    ("decimal", re.compile(r"-?\d+\.\d+"), r"-?\d+\.\d+"),
    ("integer", re.compile(r"-?\d+"), r"-?\d+"),
]
ALL_KINDS = tuple(n for n, _, _ in _TOKENS)
_REPL = {n: p for n, _, p in _TOKENS}
_ANY_CACHE = {}


def _any(kinds):
    if kinds not in _ANY_CACHE:
        _ANY_CACHE[kinds] = re.compile("|".join("(?P<%s>%s)" % (n, r.pattern)
                                                for n, r, _ in _TOKENS if n in kinds))
    return _ANY_CACHE[kinds]


def line_regex(line, value_any_after=None, path_line=False, kinds=ALL_KINDS):
    """Regex (string) for one reference line.

    value_any_after: a separator (e.g. "="); everything after its first occurrence
    becomes '.*' (used for envi/conf values such as paths and JVM properties).
    path_line: a line that is a znode path is matched by any path."""
    if path_line and line.startswith("/"):
        return r"/\S*"
    if value_any_after and value_any_after in line:
        key, _ = line.split(value_any_after, 1)
        return re.escape(key) + re.escape(value_any_after) + ".*"
    out = []
    pos = 0
    for m in _any(tuple(kinds)).finditer(line):
        out.append(re.escape(line[pos:m.start()]))
        out.append(_REPL[m.lastgroup])
        pos = m.end()
    out.append(re.escape(line[pos:]))
    return "".join(out)


def _split(text):
    """Lines plus whether the text ends with a newline."""
    if text == "":
        return [], False
    ends_nl = text.endswith("\n")
    lines = text.split("\n")
    if ends_nl:
        lines = lines[:-1]
    return lines, ends_nl


def _indented(line):
    return line.startswith(" ") or line.startswith("\t")


def _groups(lines):
    """[(is_indented_run, [lines])] keeping order."""
    out = []
    for ln in lines:
        ind = _indented(ln)
        if out and ind and out[-1][0]:
            out[-1][1].append(ln)
        else:
            out.append((ind, [ln]))
    return out


def _match_multiset(pats, lines):
    """Bipartite matching of lines to patterns; returns unmatched lines (empty = ok)."""
    cres = [re.compile(p) for p in pats]
    owner = [-1] * len(cres)  # pattern -> line index

    def try_line(i, seen):
        for j, c in enumerate(cres):
            if j in seen or not c.fullmatch(lines[i]):
                continue
            seen.add(j)
            if owner[j] == -1 or try_line(owner[j], seen):
                owner[j] = i
                return True
        return False

    bad = []
    for i in range(len(lines)):
        if not try_line(i, set()):
            bad.append(lines[i])
    return bad


def compare(ref_text, actual_text, value_any_after=None, path_lines=False, kinds=ALL_KINDS):
    """List of human-readable differences (empty when the layout matches)."""
    problems = []
    ref_lines, ref_nl = _split(ref_text)
    act_lines, act_nl = _split(actual_text)
    if ref_nl != act_nl:
        problems.append("trailing newline: reference %s, actual %s" % (ref_nl, act_nl))
    if len(ref_lines) != len(act_lines):
        problems.append("line count: reference %d, actual %d" % (len(ref_lines),
                                                                 len(act_lines)))
    rg = _groups(ref_lines)
    pos = 0
    for indented, lines in rg:
        chunk = act_lines[pos:pos + len(lines)]
        pats = [line_regex(ln, value_any_after, path_lines, kinds) for ln in lines]
        if indented:
            if len(chunk) != len(lines) or not all(_indented(c) for c in chunk):
                problems.append("indented block at line %d: reference %r, actual %r"
                                % (pos + 1, lines, chunk))
            else:
                for b in _match_multiset(pats, chunk):
                    problems.append("line %r matches no reference line of its block %r"
                                    % (b, lines))
        else:
            for k, (p, ref_ln) in enumerate(zip(pats, lines)):
                if pos + k >= len(act_lines):
                    problems.append("missing line %d (reference %r)" % (pos + k + 1, ref_ln))
                    continue
                if not re.fullmatch(p, act_lines[pos + k]):
                    problems.append("line %d: %r does not match reference %r (regex %s)"
                                    % (pos + k + 1, act_lines[pos + k], ref_ln, p))
        pos += len(lines)
        if len(problems) > 20:
            break
    return problems


def assert_layout(ref_text, actual_text, what="", **kw):
    problems = compare(ref_text, actual_text, **kw)
    assert not problems, "%s layout differs from the reference:\n  %s\n--- actual:\n%s" % (
        what, "\n  ".join(problems), actual_text)


def parse_mntr(text):
    """mntr's lines as (key, value) pairs, in order."""
    out = []
    for ln in text.split("\n")[:-1]:
        k, v = ln.split("\t", 1)
        out.append((k, v))
    return out


def kv_lines(text, sep):
    """{key: value} of the lines of text that contain sep."""
    return dict(ln.split(sep, 1) for ln in text.split("\n") if sep in ln)
