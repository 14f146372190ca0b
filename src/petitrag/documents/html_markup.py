"""Rewrites of a page's markup before trafilatura reads it, each in one pass over the page.

As regexes (``<template\\b.*?</template\\s*>``), every opening tag left unclosed read the rest
of the page again: 100 KB of ``<pre>`` took 15 s. Here each opening tag finds its closing
one by bisection in the list of closing tags, found once.
"""

from __future__ import annotations

import bisect
import re

_TEMPLATE_OPEN = re.compile(r"<template\b", re.IGNORECASE)
_TEMPLATE_CLOSE = re.compile(r"</template\s*>", re.IGNORECASE)
_PRE_OPEN = re.compile(r"<pre\b", re.IGNORECASE)
_PRE_CLOSE = re.compile(r"</pre\s*>", re.IGNORECASE)
_CODE_FIRST = re.compile(r"\s*<code\b", re.IGNORECASE)


def without_templates(html: str) -> str:
    """``html`` without its ``<template>`` elements: markup a script fills in later is not
    shown as written (trafilatura kept its text). A template ends at the first closing tag."""
    closes = list(_TEMPLATE_CLOSE.finditer(html))
    close_starts = [close.start() for close in closes]
    pieces, position = [], 0
    for opening in _TEMPLATE_OPEN.finditer(html):
        if opening.start() < position:
            continue
        following = bisect.bisect_left(close_starts, opening.end())
        if following == len(closes):
            break  # no template closes after this one: none after it will either
        pieces.append(html[position : opening.start()])
        position = closes[following].end()
    return "".join([*pieces, html[position:]])


def code_in_bare_pre(html: str) -> str:
    """``html`` with a ``<code>`` put inside each ``<pre>`` lacking one: trafilatura reads a
    bare ``<pre>`` as a quote, and its lines run together."""
    tag_ends = [match.start() for match in re.finditer(">", html)]
    closes = list(_PRE_CLOSE.finditer(html))
    close_starts = [close.start() for close in closes]
    pieces, position, has_code = [], 0, -1  # has_code: the last tag end seen to hold <code>
    for opening in _PRE_OPEN.finditer(html):
        if opening.start() < position:
            continue
        end = bisect.bisect_left(tag_ends, opening.end())
        if end == len(tag_ends):
            break  # no tag ends any more
        content = tag_ends[end] + 1
        following = bisect.bisect_left(close_starts, content)
        if following == len(closes):
            break  # no <pre> closes after this one: none after it will either
        if content == has_code or _CODE_FIRST.match(html, content):
            has_code = content  # "<pre <pre …>" share one end: read what follows it once
            continue
        close = closes[following]
        pieces += [html[position:content], "<code>", html[content : close.start()], "</code>"]
        position = close.start()
    return "".join([*pieces, html[position:]])
