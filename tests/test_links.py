"""Link normalization: every address of one post gives one key; different posts differ."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.links import display_url, find_links, link_key

TWEET = "x.com/i/status/1862512345678901234"
VIDEO = "youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "url",
    [
        "https://twitter.com/Candidat/status/1862512345678901234",
        "https://x.com/candidat/status/1862512345678901234?s=20&t=AbCdEf",
        "https://mobile.twitter.com/Candidat/status/1862512345678901234/photo/1",
        "http://www.x.com/i/web/status/1862512345678901234#reply",
        "x.com/Candidat/status/1862512345678901234/",
        "https://fxtwitter.com/Candidat/status/1862512345678901234?utm_source=share",
    ],
)
def test_every_address_of_a_tweet_gives_one_key(url: str) -> None:
    assert link_key(url) == TWEET


@pytest.mark.parametrize(
    "url",
    [
        "https://youtu.be/dQw4w9WgXcQ?si=Xy12ab",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=share&t=42",
        "https://m.youtube.com/watch?app=desktop&v=dQw4w9WgXcQ",
        "https://youtube.com/shorts/dQw4w9WgXcQ?si=abc",
    ],
)
def test_every_address_of_a_video_gives_one_key(url: str) -> None:
    assert link_key(url) == VIDEO


def test_article_keeps_its_meaningful_query_and_drops_tracking() -> None:
    a = link_key("https://www.lemonde.fr/p/article.html?id=7&utm_source=tw&fbclid=XYZ#comments")
    b = link_key("https://m.lemonde.fr/p/article.html/?fbclid=other&id=7")
    assert a == b == "lemonde.fr/p/article.html?id=7"
    assert link_key("https://lemonde.fr/p/article.html?id=8") != a


def test_different_tweets_and_sites_stay_apart() -> None:
    assert link_key("https://x.com/a/status/1") != link_key("https://x.com/a/status/2")
    assert link_key("https://example.org/post/1") != link_key("https://example.com/post/1")


@pytest.mark.parametrize("text", ["", "bonjour", "javascript:alert(1)", "ftp://x.org/a", "a b.com"])
def test_what_is_not_a_web_link_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        link_key(text)


def test_links_are_found_in_what_people_paste() -> None:
    text = "Regardez ça https://x.com/a/status/1?s=20. Et aussi (www.lemonde.fr/a/b), urgent !"
    assert find_links(text) == ["https://x.com/a/status/1?s=20", "www.lemonde.fr/a/b"]
    assert find_links("rien à signaler") == []
    assert display_url(TWEET) == f"https://{TWEET}"


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
hosts = st.sampled_from(["lemonde.fr", "example.org", "facebook.com", "tiktok.com", "blog.net"])
paths = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
queries = st.lists(st.tuples(st.sampled_from(["id", "p", "page", "v2"]), segment), max_size=3)
tracking = st.lists(
    st.tuples(
        st.sampled_from(["utm_source", "utm_campaign", "fbclid", "gclid", "igshid", "si"]), segment
    ),
    max_size=3,
)
prefixes = st.sampled_from(["", "www.", "m.", "mobile."])


@given(hosts, paths, queries, tracking, prefixes, st.booleans(), st.booleans())
def test_device_tracking_slash_and_fragment_never_change_the_key(
    host: str,
    path: str,
    query: list[tuple[str, str]],
    noise: list[tuple[str, str]],
    prefix: str,
    slash: bool,
    fragment: bool,
) -> None:
    clean = f"https://{host}{path}" + (
        "?" + "&".join(f"{k}={v}" for k, v in query) if query else ""
    )
    params = query + noise
    noisy = f"http://{prefix}{host}{path}{'/' if slash else ''}"
    if params:
        noisy += "?" + "&".join(f"{k}={v}" for k, v in reversed(params))
    if fragment:
        noisy += "#section"
    assert link_key(noisy) == link_key(clean)


@given(hosts, paths, paths)
def test_different_paths_give_different_keys(host: str, one: str, two: str) -> None:
    if one.lower() != two.lower():
        assert link_key(f"https://{host}{one}") != link_key(f"https://{host}{two}")


@given(hosts, paths, queries, tracking)
def test_normalizing_twice_changes_nothing(
    host: str, path: str, query: list[tuple[str, str]], noise: list[tuple[str, str]]
) -> None:
    params = "&".join(f"{k}={v}" for k, v in query + noise)
    key = link_key(f"https://{host}{path}?{params}")
    assert link_key(display_url(key)) == key
