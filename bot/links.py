"""Links to posts, normalized so that twenty reports of one post make one incident.

The same post travels under many addresses: with tracking parameters (utm_*, fbclid, si…),
on mobile or desktop hosts (m., mobile., www.), under an old or new name (twitter.com and
x.com, youtu.be and youtube.com/watch?v=), with or without a trailing slash or a fragment.
`link_key` maps all of them to one key; `find_links` pulls links out of what people paste.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

MAX_URL = 2000

# Query parameters that say who shared or clicked, never which post.
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "igsh",
        "si",
        "s",
        "t",
        "ref",
        "ref_src",
        "ref_url",
        "src",
        "feature",
        "mc_cid",
        "mc_eid",
        "mibextid",
        "rdid",
        "share_id",
        "share_app_id",
        "sender_device",
        "is_from_webapp",
        "_ga",
        "_gl",
        "__cft__",
        "__tn__",
        "xmt",
        "utm",
    }
)
# Host prefixes that only say which device the link was copied on.
_DEVICE_PREFIXES = ("www.", "m.", "mobile.", "mbasic.", "touch.", "amp.", "web.")
# Hosts that are other names of the same site.
_HOST_ALIASES = {
    "twitter.com": "x.com",
    "fxtwitter.com": "x.com",
    "vxtwitter.com": "x.com",
    "fixupx.com": "x.com",
    "fb.com": "facebook.com",
    "instagr.am": "instagram.com",
    "youtube-nocookie.com": "youtube.com",
}
_TWEET = re.compile(r"^/(?:[A-Za-z0-9_]{1,15}|i(?:/web)?)/status(?:es)?/(\d+)")
_YOUTUBE_ID = re.compile(r"^/(?:shorts|live|embed|v)/([A-Za-z0-9_-]{6,})")
_URL_IN_TEXT = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'«»]+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|fr|org|net|be|ch|eu|io|info|tv|me|ly|am|gl|co)"
    r"/[^\s<>\"'«»]*",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}»'\"…"


def find_links(text: str) -> list[str]:
    """Links in a text, in order, without the punctuation that ends a sentence."""
    found: list[str] = []
    for match in _URL_IN_TEXT.finditer(text or ""):
        url = match.group(0).rstrip(_TRAILING)
        if url and url not in found and len(url) <= MAX_URL:
            found.append(url)
    return found


def link_key(url: str) -> str:
    """One key for every address of the same post: host, path and meaningful query.

    Raises ValueError for text that is not a web address.
    """
    url = url.strip()
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise ValueError("not a link")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("not a web link")
    host = (parts.hostname or "").lower().rstrip(".")
    if "." not in host or not re.fullmatch(r"[a-z0-9.-]+", host):
        raise ValueError("not a web host")
    for prefix in _DEVICE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    path = _clean_path(parts.path)
    host = _HOST_ALIASES.get(host, host)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if _kept(k)]

    if host == "youtu.be" and path.strip("/"):
        host, query, path = "youtube.com", [("v", path.strip("/").split("/")[0])], "/watch"
    elif host == "youtube.com":
        short = _YOUTUBE_ID.match(path)
        if short:
            path, query = "/watch", [("v", short.group(1))]
        elif path == "/watch":
            query = [(k, v) for k, v in query if k == "v"]
    elif host == "x.com":
        tweet = _TWEET.match(path)
        if tweet:
            # The same tweet is /user/status/id, /i/web/status/id, …/photo/1.
            path, query = f"/i/status/{tweet.group(1)}", []
        else:
            path = path.lower()
    elif host == "instagram.com":
        path = path.lower()

    key = host + path
    if query:
        key += "?" + urlencode(sorted(query), quote_via=quote)
    return key


def display_url(key: str) -> str:
    """The address to show and open for a link key."""
    return "https://" + key


def _kept(name: str) -> bool:
    lowered = name.lower()
    return not (lowered in _TRACKING or lowered.startswith(("utm_", "hsa_", "pk_", "mtm_")))


def _clean_path(path: str) -> str:
    # Same bytes whether or not the client percent-encoded them; no trailing slash.
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~")
    path = re.sub(r"/{2,}", "/", path)
    return path.rstrip("/")
