"""The WebShop site over real HTTP: page flow, pagination, sub-pages, purchase, escaping, search, server."""

import dataclasses
import json
import socket
from collections import Counter

import pytest
from markupsafe import escape

from serl_bench.envs.webshop import _server
from serl_bench.envs.webshop._browser import HttpBrowser
from serl_bench.envs.webshop._reward import compute_reward
from serl_bench.envs.webshop._search import SEARCH_RETURN_N, build_index, index_text, stem, tokenize
from serl_bench.envs.webshop._server import SiteError
from serl_bench.envs.webshop._text import SEP, read_page
from serl_bench.errors import ConfigError

GOAL0 = ("i want breathable trail running shoes with a rubber sole in navy blue, size large, and price lower "
         "than 60.00 dollars")


class Visitor:
    """Reads pages of the site the way text mode does, one session."""

    def __init__(self, site, session="visitor", goal=0, attrs=False):
        self.http = HttpBrowser(site.url, 5.0)
        self.page = read_page(*self.http.open(f"/{session}?goal={goal}" + ("&attrs=1" if attrs else "")))

    def search(self, keywords):
        if not self.page.has_search_bar:
            self.click("back to search")
        self.page = read_page(*self.http.search(self.page, keywords))
        return self.page

    def click(self, name):
        self.page = read_page(*self.http.click(self.page, self.page.clickables[name]))
        return self.page

    def links(self):
        return [n for n, c in self.page.clickables.items() if c.kind == "link"]


def test_search_page_shows_the_instruction_and_a_search_box(site):
    page = Visitor(site).page
    assert page.kind == "search"
    assert page.text == f"WebShop [SEP] Instruction: [SEP] {GOAL0} [SEP] Search"
    assert page.anchor == "WebShop [SEP] Search" and page.instruction == GOAL0
    assert page.has_search_bar and dict(page.clickables) == {}


def test_results_come_ten_a_page_with_next_and_prev(site):
    v = Visitor(site)
    first = v.search("Running   SHOE")
    assert first.kind == "results" and first.state["keywords"] == "running shoe"
    assert "Page 1 (Total results: 25)" in first.text
    assert len(v.links()) == 10 and "next >" in first.clickables and "< prev" not in first.clickables
    assert first.text.index("Back to Search") < first.text.index("Page 1") < first.text.index("Next >")
    second = v.click("next >")
    assert "Page 2 (Total results: 25)" in second.text and {"< prev", "next >"} <= set(second.clickables)
    assert not set(v.links()) & {n for n, c in first.clickables.items() if c.kind == "link"}
    third = v.click("next >")
    assert len(v.links()) == 5 and "next >" not in third.clickables
    assert v.click("< prev").text == second.text
    assert v.click("back to search").kind == "search"


def test_a_result_shows_asin_title_and_price(site):
    v = Visitor(site)
    v.search("model 3")
    assert "B0SHOE0003 [SEP] Trail Running Shoe Model 3 Breathable Mesh [SEP] $23.00 to $43.00" in v.page.text
    v.search("model 6")
    assert "B0SHOE0006 [SEP] Trail Running Shoe Model 6 Breathable Mesh [SEP] $36.00" in v.page.text


def test_item_page_lists_options_tabs_and_buy_now(site):
    v = Visitor(site)
    v.search("running shoe")
    v.click("next >")
    item = v.click("b0shoe0013")
    assert item.kind == "item" and item.state["asin"] == "B0SHOE0013"
    assert item.text.split(SEP)[2:] == [
        "Back to Search", "< Prev", "color", "black", "white", "red", "navy blue", "size", "small", "medium",
        "large", "x-large", "Trail Running Shoe Model 13 Breathable Mesh", "Price: $33.00 to $53.00",
        "Rating: 4.5", "Description", "Features", "Reviews", "Buy Now"]
    assert item.clickables["navy blue"].kind == "option" and item.clickables["navy blue"].group == "color"
    assert "attributes" not in item.clickables
    assert "Page 2 (Total results: 25)" in v.click("< prev").text  # back to the page it came from


def test_options_are_remembered_in_the_url_and_the_anchor(site):
    v = Visitor(site)
    v.search("model 13")
    v.click("b0shoe0013")
    v.click("navy blue")
    item = v.click("large")
    assert item.options == {"color": "navy blue", "size": "large"}
    assert item.anchor.endswith("chosen: color: navy blue, size: large") and GOAL0 not in item.anchor
    assert v.click("red").options == {"color": "red", "size": "large"}  # a group holds one value


def test_sub_pages_show_their_part_and_go_back_with_the_options(site):
    v = Visitor(site)
    v.search("model 13")
    v.click("b0shoe0013")
    item = v.click("small")
    expected = {
        "description": "A light trail running shoe, model 13, with a breathable mesh upper.",
        "features": "model 13 rubber sole [SEP] breathable mesh [SEP] lace-up closure",
        "reviews": '"great shoe" [SEP] 5 [SEP] comfortable model 13 [SEP] "too small" [SEP] 2 [SEP] runs small',
    }
    for tab, content in expected.items():
        sub = v.click(tab)
        assert sub.kind == "sub_page" and sub.text.endswith("Back to Search [SEP] < Prev [SEP] " + content)
        assert v.click("< prev").text == item.text and v.page.options == {"size": "small"}


def test_attributes_tab_only_where_the_session_asks_for_it(site):
    v = Visitor(site, session="with-attrs", attrs=True)
    v.search("model 13")
    v.click("b0shoe0013")
    sub = v.click("attributes")
    assert sub.text.endswith("rubber sole [SEP] breathable [SEP] fashion [SEP] running shoes [SEP] "
                             "Clothing, Shoes & Jewelry › Men › Shoes › Athletic › Running")
    hidden = HttpBrowser(site.url, 5.0)
    hidden.open("/no-attrs?goal=0")
    page = read_page(*hidden.request("get", "/item_sub_page/no-attrs/B0SHOE0013/Attributes"))
    assert page.kind == "error" and "no sub-page 'Attributes'" in page.text


def test_buy_now_pays_the_reward_and_shows_its_parts(site, catalog):
    v = Visitor(site, session="buyer")
    v.search("model 7")
    v.click("b0shoe0007")
    v.click("navy blue")
    done = v.click("buy now")
    expected = compute_reward(catalog.product("B0SHOE0007"), catalog.goals[0], 37.0, {"color": "navy blue"})
    assert done.kind == "done" and float(done.state["reward"]) == expected.total == 0.8
    assert done.text.startswith("Thank you for shopping with us! [SEP] Purchased [SEP] B0SHOE0007 [SEP] Options "
                                "[SEP] color: navy blue [SEP] Your score (min 0.0, max 1.0) [SEP] 0.8000")
    assert "options [SEP] 0.5000" in done.text and GOAL0 not in done.text
    answer = v.http.json("/api/session/buyer")
    assert answer["done"] and answer["goal"] == 0 and answer["purchase"]["asin"] == "B0SHOE0007"
    assert answer["purchase"]["reward"] == {"total": 0.8, "r_type": 1.0, "r_att": 1.0, "r_option": 0.5,
                                            "r_price": 1.0}


def test_the_goal_is_the_sessions_own(site):
    a, b = Visitor(site, session="alice", goal=1), Visitor(site, session="bob", goal=2)
    assert "eau de toilette" in a.page.text and "office chair" in b.page.text
    assert "eau de toilette" in Visitor(site, session="alice", goal=1).search("tea").text  # still alice's goal


@pytest.mark.parametrize("keywords", ["<script>alert(1)</script>", "{{ 7*7 }}", '" onmouseover="x', "&lt;b&gt;"])
def test_keywords_are_escaped_never_rendered(site, keywords):
    v = Visitor(site)
    html, _ = v.http.search(v.page, keywords)
    page = read_page(html, "")
    assert page.kind == "results" and page.state["keywords"] == keywords.lower()  # {{ 7*7 }} stays as typed
    assert str(escape(keywords.lower())) in html
    assert "<script>" not in html and 'onmouseover="x' not in html and "&lt;b&gt;" not in page.text
    assert keywords not in page.text  # the original's results page does not show the keywords


def test_catalog_text_is_escaped_too(site):
    v = Visitor(site)
    html, _ = v.http.search(v.page, "usb cable braided")
    assert "&lt;b&gt;Braided&lt;/b&gt;" in html
    assert "USB C Cable 6 ft Fast Charging <b>Braided</b>" in read_page(html, "").text


@pytest.mark.parametrize("path, message", [
    ("/search_results/nobody?keywords=shoe", "no session 'nobody'"),
    ("/item_page/visitor/B0NOTHERE0", "no product"),
    ("/search_results/visitor?keywords=shoe&page=zero", "page must be a whole number"),
    ("/search_results/visitor?keywords=shoe&page=0", "page must be at least 1"),
    ("/item_page/visitor/B0SHOE0001?options=[1]", "options must be a JSON object"),
    ('/item_page/visitor/B0SHOE0001?options={"size":"huge"}', "has no option 'size'"),
    ("/visitor?goal=99", "no goal 99"),
])
def test_bad_addresses_get_error_pages(site, path, message):
    http = HttpBrowser(site.url, 5.0)
    http.open("/visitor?goal=0")
    page = read_page(*http.request("get", path))
    assert page.kind == "error" and message in page.text


def test_the_api_answers_json_errors(site):
    http = HttpBrowser(site.url, 5.0)
    assert http.json("/api/session/nobody") == {"error": "no session 'nobody': open /nobody first"}
    assert http.json("/api/health")["ok"] is True


def test_search_keeps_the_top_50_best_first(generated_catalog):
    index = build_index(generated_catalog)
    frequency = Counter(t for p in generated_catalog.products for t in set(tokenize(index_text(p))))
    common = [t for t, n in frequency.items() if n > SEARCH_RETURN_N]
    assert common and all(len(index.search(t)) == SEARCH_RETURN_N for t in common)
    rare = next(t for t, n in frequency.items() if n == 3)
    assert len(index.search(rare)) == 3
    target = generated_catalog.products[123]
    assert index.search(target.title)[0] == target.asin
    assert index.search("zzzz qqqq") == () and index.search("the and of") == ()
    assert index.search(target.title) == build_index(generated_catalog).search(target.title)


def test_the_analyzer_stems_plurals_and_drops_stop_words():
    assert [stem(w) for w in ("shoes", "batteries", "glass", "bus", "days", "trees", "keys", "is")] == [
        "shoe", "battery", "glass", "bus", "day", "tree", "key", "is"]
    assert tokenize("The 6.76 fl oz Bottles of L'eau") == ["6.76", "fl", "oz", "bottle", "l'eau"]


def test_a_taken_port_is_a_one_line_error(catalog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}") as caught:
            _server.acquire(catalog, port=port)
    assert "\n" not in str(caught.value) and "port=N" in str(caught.value)
    with pytest.raises(ConfigError, match="from 1 to 65535"):
        _server.acquire(catalog, port=70000)


def test_servers_are_shared_and_stop_with_the_last_release(catalog):
    own = dataclasses.replace(catalog, fingerprint="test-shared-server")  # a catalog no other test serves
    first = _server.acquire(own)
    second = _server.acquire(own)
    other = _server.acquire(catalog)
    _server.release(other)
    assert first is second and first.refs == 2 and other is not first and other.port != first.port
    _server.release(first)
    assert second.running and HttpBrowser(second.url, 5.0).json("/api/health")["ok"]
    _server.release(second)
    assert not second.running and second not in _server.running_servers()
    with pytest.raises(SiteError, match="not answering"):
        HttpBrowser(second.url, 2.0).open("/api/health")


def test_an_explicit_port_serves_there(catalog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = _server.acquire(catalog, port=port)
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        assert json.loads(HttpBrowser(server.url, 5.0).request("get", "/api/health")[0])["ok"]
    finally:
        _server.release(server)


def test_slow_clients_never_stall_the_site(catalog, monkeypatch):
    """24 clients that connect and say nothing and 24 that trickle a byte at a time (issue 16): a normal
    request is still answered at once, and the slow ones are dropped on time, not held for ever."""
    import threading
    import time

    monkeypatch.setattr(_server, "REQUEST_S", 1.0)
    monkeypatch.setattr(_server, "IDLE_CONNECTION_S", 1.5)
    server = _server.acquire(dataclasses.replace(catalog, fingerprint="test-slow-clients"))
    stop = threading.Event()
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(24)]
    trickling = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(24)]

    def trickle(sock):
        for byte in b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
            if stop.wait(0.2):
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                return

    threads = [threading.Thread(target=trickle, args=(s,), daemon=True) for s in trickling]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)  # every trickler has a request under way
        start = time.monotonic()
        assert HttpBrowser(server.url, 3.0).json("/api/health")["ok"]
        assert time.monotonic() - start < 1.0
        for sock in silent + trickling:  # each one closed by the site, within its limit and a tick
            sock.settimeout(4.0)
            try:
                assert sock.recv(1024) == b""
            except ConnectionResetError:
                pass
        assert time.monotonic() - start < 4.0
    finally:
        stop.set()
        for sock in silent + trickling:
            sock.close()
        _server.release(server)
