"""A list screen's address values are checked by the API's rules before any query: a page
number past the largest offset, a page size that is not offered or an id filter that is not
an id is named next to the pager or the filters, never a database error."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

HUGE = "99999999999999999999"


@pytest.mark.parametrize("path", ["/orders", "/products", "/customers"])
def test_a_huge_page_number_is_named_not_sent_to_the_database(page, path):
    page.goto(f"{path}?page={HUGE}")
    expect(page.get_by_test_id("pager-error-page")).to_have_text(
        "Page must be at most 85,899,346")
    expect(page.get_by_test_id("list-error")).to_contain_text(
        "This view's address has invalid values: page: must be at most 85,899,346")
    expect(page.get_by_test_id("list-row")).to_have_count(0)
    # The last page there is still loads (its rows start within the largest offset).
    page.goto(f"{path}?page=85899346")
    expect(page.get_by_test_id("list-error")).to_have_count(0)
    expect(page.get_by_test_id("pager-error-page")).to_have_count(0)
    # Back to the first page: the rows again.
    page.goto(path)
    expect(page.get_by_test_id("list-row")).to_have_count(25)


def test_other_address_values_are_named_too(page):
    page.goto("/orders?page=abc&size=7")
    expect(page.get_by_test_id("pager-error-page")).to_have_text("Page must be a whole number")
    expect(page.get_by_test_id("pager-error-size")).to_have_text(
        "Rows per page must be one of 25, 50, 100")
    page.goto("/products?category_id=abc")  # said beside its filter, as a sentence
    expect(page.get_by_test_id("filter-error-category_id")).to_have_text(
        "Must be a whole number.")
    expect(page.get_by_test_id("list-error")).to_have_count(0)
    page.goto("/products?category_id=1")
    expect(page.get_by_test_id("list-row")).to_have_count(12)
    page.goto("/orders?q=" + "x" * 201)
    expect(page.get_by_test_id("list-error")).to_contain_text("q: must be at most 200")
