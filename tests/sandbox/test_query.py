"""Query Order Payment Requests: filters, sort, and cursor paging across pages (wix-api.md §3)."""

from __future__ import annotations

import pytest

from .support import OPR, create_order, create_payment_request


def _query(client, query):
    return client.post(f"{OPR}/query", json={"query": query})


def _ids(response):
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["orderPaymentRequests"]]


@pytest.fixture
def seven(client, order):
    """Seven requests on one order, created in order, amounts 1.00..7.00, external ids ext-1..ext-7."""
    return [
        create_payment_request(client, order["id"], amount={"amount": f"{n}.00"}, source={"externalId": f"ext-{n}"}, title=f"Part {n}")
        for n in range(1, 8)
    ]


def test_default_query_returns_everything_newest_first(client, seven):
    response = _query(client, {})
    assert _ids(response) == [e["id"] for e in reversed(seven)]
    assert response.json()["pagingMetadata"] == {"count": 7, "cursors": {"next": None, "prev": None}, "hasNext": False}


def test_paging_walks_every_page_with_cursors_only(client, seven, order):
    first = _query(client, {"filter": {"orderId": order["id"]}, "cursorPaging": {"limit": 3}})
    first_meta = first.json()["pagingMetadata"]
    assert (first_meta["count"], first_meta["hasNext"], first_meta["cursors"]["prev"]) == (3, True, None)

    second = _query(client, {"cursorPaging": {"limit": 3, "cursor": first_meta["cursors"]["next"]}})
    second_meta = second.json()["pagingMetadata"]
    assert (second_meta["count"], second_meta["hasNext"]) == (3, True)

    third = _query(client, {"cursorPaging": {"limit": 3, "cursor": second_meta["cursors"]["next"]}})
    third_meta = third.json()["pagingMetadata"]
    assert (third_meta["count"], third_meta["hasNext"], third_meta["cursors"]["next"]) == (1, False, None)

    pages = _ids(first) + _ids(second) + _ids(third)
    assert pages == [e["id"] for e in reversed(seven)]

    back = _query(client, {"cursorPaging": {"limit": 3, "cursor": third_meta["cursors"]["prev"]}})
    assert _ids(back) == _ids(second)


def test_the_cursor_keeps_the_first_requests_filter_and_sort(client, seven):
    first = _query(
        client,
        {
            "filter": {"amount.amount": {"$gte": "3"}},
            "sort": [{"fieldName": "amount.amount", "order": "ASC"}],
            "cursorPaging": {"limit": 2},
        },
    )
    cursor = first.json()["pagingMetadata"]["cursors"]["next"]
    second = _query(client, {"cursorPaging": {"limit": 2, "cursor": cursor}})
    amounts = [e["amount"]["amount"] for e in first.json()["orderPaymentRequests"] + second.json()["orderPaymentRequests"]]
    assert amounts == ["3.00", "4.00", "5.00", "6.00"]


def test_a_cursor_with_filter_or_sort_is_rejected(client, seven):
    cursor = _query(client, {"cursorPaging": {"limit": 2}}).json()["pagingMetadata"]["cursors"]["next"]
    response = _query(client, {"filter": {"status": "UNPAID"}, "cursorPaging": {"cursor": cursor}})
    assert response.status_code == 400


def test_a_made_up_cursor_is_400(client):
    assert _query(client, {"cursorPaging": {"cursor": "not-a-cursor!"}}).status_code == 400


def test_limit_above_100_is_400_and_100_is_fine(client):
    response = _query(client, {"cursorPaging": {"limit": 101}})
    assert response.status_code == 400
    assert response.json()["details"]["validationError"]["fieldViolations"][0]["field"] == "query.cursorPaging.limit"
    assert _query(client, {"cursorPaging": {"limit": 100}}).status_code == 200
    assert _query(client, {"cursorPaging": {"limit": "10"}}).status_code == 400


def test_the_default_limit_is_100(client, order):
    for n in range(105):
        create_payment_request(client, order["id"], source={"externalId": f"bulk-{n}"})
    page = _query(client, {}).json()
    assert page["pagingMetadata"]["count"] == 100
    assert page["pagingMetadata"]["hasNext"] is True


def test_filters_by_order_and_status_as_the_lost_link_flow_does(client, seven, order):
    other_order = create_order(client, "5.00")
    create_payment_request(client, other_order["id"])
    client.post(f"{OPR}/void", json={"orderPaymentRequestId": seven[0]["id"]})
    client.post(f"/_sandbox/order-payment-requests/{seven[1]['id']}/pay")
    response = _query(client, {"filter": {"orderId": order["id"], "status": {"$eq": "UNPAID"}}})
    assert sorted(_ids(response)) == sorted(e["id"] for e in seven[2:])


@pytest.mark.parametrize(
    ("filter_", "expected_numbers"),
    [
        ({"source.externalId": "ext-4"}, [4]),
        ({"source.externalId": {"$in": ["ext-2", "ext-5", "nope"]}}, [2, 5]),
        ({"source.externalId": {"$startsWith": "EXT-"}}, [1, 2, 3, 4, 5, 6, 7]),
        ({"title": {"$ne": "Part 3"}}, [1, 2, 4, 5, 6, 7]),
        ({"amount.amount": {"$gt": "5"}}, [6, 7]),
        ({"amount.amount": {"$lte": 2}}, [1, 2]),
        ({"amount.amount": {"$gte": "2", "$lt": "4"}}, [2, 3]),
        ({"description": {"$exists": False}}, [1, 2, 3, 4, 5, 6, 7]),
        ({"description": {"$exists": True}}, []),
        ({"$or": [{"title": "Part 1"}, {"title": "Part 7"}]}, [1, 7]),
        ({"$and": [{"status": "UNPAID"}, {"$not": {"title": "Part 1"}}]}, [2, 3, 4, 5, 6, 7]),
    ],
)
def test_filter_operators(client, seven, filter_, expected_numbers):
    response = _query(client, {"filter": filter_})
    by_id = {e["id"]: n for n, e in enumerate(seven, start=1)}
    assert sorted(by_id[i] for i in _ids(response)) == expected_numbers


def test_filter_by_id_and_order_number(client, seven, order):
    assert _ids(_query(client, {"filter": {"id": seven[2]["id"]}})) == [seven[2]["id"]]
    assert len(_ids(_query(client, {"filter": {"orderNumber": order["number"]}}))) == 7


def test_filter_by_created_date(client, seven):
    cutoff = seven[3]["createdDate"]
    newer = _ids(_query(client, {"filter": {"createdDate": {"$gt": cutoff}}}))
    older_or_same = _ids(_query(client, {"filter": {"createdDate": {"$lte": {"$date": cutoff}}}}))
    assert sorted(newer + older_or_same) == sorted(e["id"] for e in seven)
    assert seven[3]["id"] in older_or_same


@pytest.mark.parametrize(
    "filter_",
    [
        {"color": "blue"},
        {"status": {"$startsWith": "UN"}},
        {"amount.amount": {"$in": ["1"]}},
        {"status": {"$in": "UNPAID"}},
        {"createdDate": {"$gt": "yesterday"}},
        {"title": 5},
        {"description": {"$exists": "yes"}},
    ],
)
def test_bad_filters_are_400(client, filter_):
    assert _query(client, {"filter": filter_}).status_code == 400


def test_sort_by_amount_and_title(client, seven):
    ascending = _query(client, {"sort": [{"fieldName": "amount.amount", "order": "ASC"}]})
    assert _ids(ascending) == [e["id"] for e in seven]
    descending = _query(client, {"sort": [{"fieldName": "title", "order": "DESC"}]})
    assert _ids(descending) == [e["id"] for e in reversed(seven)]
    oldest_first = _query(client, {"sort": [{"fieldName": "createdDate"}]})
    assert _ids(oldest_first) == [e["id"] for e in seven]


@pytest.mark.parametrize(
    "sort",
    [
        [{"fieldName": "id"}],
        [{"fieldName": "color"}],
        [{"fieldName": "title", "order": "UP"}],
        [{"order": "ASC"}],
        {"fieldName": "title"},
        [{"fieldName": "title"}] * 6,
    ],
)
def test_bad_sorts_are_400(client, sort):
    assert _query(client, {"sort": sort}).status_code == 400
