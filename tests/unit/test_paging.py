"""Page tokens (motcua.kernel.paging): a token continues only the query it came from."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date

import pytest

from motcua.kernel.errors import InvalidArgument
from motcua.kernel.paging import PageQuery


def refused(query: PageQuery, token: str, *shape: type) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as failure:
        query.position(token, *shape)
    return failure.value


def test_a_token_gives_back_the_position_it_was_made_from():
    recipient = uuid.uuid4()
    query = PageQuery("notifications", recipient, None)
    assert query.position(query.token(12345), int) == 12345
    agencies = PageQuery("agencies", "000.00.00.H56", date(2026, 1, 5))
    assert agencies.position(agencies.token("000.00.10.H56"), str) == "000.00.10.H56"
    catalog = PageQuery("procedures", "Đăng ký khai sinh")
    assert catalog.position(catalog.token(["1.001193.000.00.00.H56", 3]), str, int) == ("1.001193.000.00.00.H56", 3)


def test_no_token_is_the_first_page():
    assert PageQuery("accounts").position("", int) is None


def test_the_token_is_url_safe_text_and_says_nothing_plain():
    token = PageQuery("dossiers", "Nguyễn Thị Hằng").token(["2026-01-05 08:30:00+07", str(uuid.uuid4())])
    assert token.isascii() and "=" not in token and "/" not in token and "+" not in token


def test_the_same_filters_make_the_same_query_and_any_other_filter_another():
    recipient = uuid.uuid4()
    token = PageQuery("notifications", recipient, None).token(7)
    assert PageQuery("notifications", recipient, None).position(token, int) == 7
    for other in [
        PageQuery("notifications", uuid.uuid4(), None),
        PageQuery("notifications", recipient, "in_app"),
        PageQuery("accounts", recipient, None),
        PageQuery("notifications", recipient),
    ]:
        assert set(v.field for v in refused(other, token, int).violations) == {"page_token"}


def test_malformed_tokens_and_positions_of_another_shape_are_refused_on_page_token():
    query = PageQuery("notifications", uuid.uuid4(), None)
    good = query.token(12345)

    def raw(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()

    for bad in [
        "not a token",
        "không phải token",
        "bm9wZQ",
        "X" + good[1:],  # altered: every token starts with "Wz", the base64 of '[' and more
        raw([1, query.digest[:-1] + ("1" if query.digest[-1] == "0" else "0"), 12345]),
        good[:-3],
        raw([1, query.digest]),
        raw([2, query.digest, 12345]),
        raw([1, query.digest, "abc"]),
        raw([1, query.digest, True]),
        raw({"position": 1}),
    ]:
        failure = refused(query, bad, int)
        assert [v.field for v in failure.violations] == ["page_token"]
        assert "next_page_token" in failure.violations[0].description
    assert refused(query, query.token(["a", 1]), str, int, str).violations[0].field == "page_token"
    assert refused(query, query.token(["a", "b"]), str, int).violations[0].field == "page_token"
