"""Presentation mode (AppTest, no browser): the sidebar toggle, kept in the URL as present=1."""

import pytest


@pytest.fixture
def home(app_test):
    at = app_test()
    at.run()
    assert not at.exception, at.exception
    return at


def _map_tick_size(at) -> int | None:
    from conftest import chart_spec

    return chart_spec(at, "latent_map")["layout"]["xaxis"].get("tickfont", {}).get("size")


def test_presentation_mode_is_kept_in_the_url_and_enlarges_the_maps_ticks(home):
    assert "present" not in home.query_params and 14 <= _map_tick_size(home) < 16  # readable out of it too
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
