"""The home page's front door (AppTest, no browser): one sentence on what the map is and
three starts, the lesson's start opening the Compare page on lesson step 1."""

from urllib.parse import parse_qsl

import pytest


@pytest.fixture
def home(app_test):
    at = app_test()
    at.run()
    assert not at.exception, at.exception
    return at


def _starts(at):
    return {link.value: link.proto for link in at.main.page_link}


def test_the_home_page_says_what_the_map_is_and_offers_three_starts(home):
    assert home.main.title[0].value == "Latent space explorer"
    assert any("The map shows where an autoencoder's encoder puts each of the 10,000 MNIST test digits" in m.value for m in home.main.markdown)
    starts = _starts(home)
    assert list(starts) == ["Run the lesson (AE vs VAE)", "Explore a model", "Train your own"]
    assert [p.page for p in starts.values()] == ["compare", "", "train"]  # "": the default page, this one
    assert dict(parse_qsl(starts["Run the lesson (AE vs VAE)"].query_string)) == {"step": "1"}
    assert starts["Explore a model"].query_string == "" and starts["Train your own"].query_string == ""


def _follow(at, link):
    """Do what the browser does on a click of ``link``: the page with the link's query parameters."""
    page = {"compare": "pages/compare.py", "train": "pages/train.py"}[link.page]
    at.query_params = dict(parse_qsl(link.query_string))
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_the_lesson_start_opens_the_compare_page_on_step_one_even_after_a_visit(home):
    # the Compare page seen first (its URL state applied once), then the home page's link
    home.switch_page("pages/compare.py").run()
    assert home.session_state["cmp_lesson_step"] is None
    home.query_params = {}
    home.switch_page("pages/explorer.py").run()
    _follow(home, _starts(home)["Run the lesson (AE vs VAE)"])
    assert home.session_state["cmp_lesson_step"] == 0
    assert any("Lesson 1/8: The AE's map" in m.value for m in home.main.markdown)
    assert home.query_params["step"] == "1"


def test_the_train_start_opens_the_train_page(home):
    _follow(home, _starts(home)["Train your own"])
    assert [t.value for t in home.main.title] == ["Train a model"]


def _map_tick_size(at) -> int | None:
    from conftest import chart_spec

    return chart_spec(at, "latent_map")["layout"]["xaxis"].get("tickfont", {}).get("size")


def test_presentation_mode_is_kept_in_the_url_and_enlarges_the_maps_ticks(home):
    assert "present" not in home.query_params and (_map_tick_size(home) or 12) < 16
    home.sidebar.toggle(key="present_mode").set_value(True).run()
    assert home.query_params["present"] == "1" and _map_tick_size(home) >= 16
    # the Compare page writes its own URL state and keeps present=1 in it
    home.switch_page("pages/compare.py").run()
    assert not home.exception, home.exception
    assert home.query_params["present"] == "1" and "left" in home.query_params
    home.sidebar.toggle(key="present_mode").set_value(False).run()
    assert "present" not in home.query_params


def test_a_link_with_present_1_opens_in_presentation_mode(app_test):
    at = app_test()
    at.query_params = {"present": "1"}
    at.run()
    assert not at.exception, at.exception
    assert at.sidebar.toggle(key="present_mode").value and _map_tick_size(at) >= 16
