"""A map click on the Explorer reruns only what it changes, not the page: checked on a
real server over Streamlit's own protocol (``bench.st_client``, what a browser tab sends
and receives, no drawing), from the elements the click's run sends and the fragment each
belongs to (``Delta.fragment_id``; "" outside any fragment).

The page reruns for other reasons (a model choice, a reload): there the map's chart is
sent again, which shows that the check below can see it.
"""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.st_client import StreamlitSession
from explorer.ui.state import registry


def _run(coroutine):
    """``asyncio.run`` in a thread of its own (pytest-playwright's loop may be running here)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _point(index: int) -> dict:
    return {"curve_number": 0, "point_number": index, "point_index": index, "x": 0.0, "y": 0.0,
            "customdata": [index]}


async def _click(session: StreamlitSession, index: int):
    return await session.component_event("map_marks", "click", {"points": [_point(index)]})


def _mu(session: StreamlitSession, index: int) -> tuple[float, float]:
    """The clicked digit's mu as the click panel writes it."""
    for text in session.texts():
        if f"Test digit {index}**" in text:
            return tuple(float(v) for v in re.search(r"mu = \(([^,]+), ([^)]+)\)", text).groups())
    raise AssertionError(f"the click panel does not show test digit {index}")


def test_a_click_reruns_the_marks_panel_and_sliders_not_the_page(app_url):
    async def scenario():
        session = StreamlitSession(app_url, follow_auto_reruns=False)
        try:
            opened = await session.open()
            assert not opened.exceptions
            assert ("plotly_chart", "") in opened.elements  # the map, outside any fragment
            marks_fragment = session.widget("map_marks").fragment_id
            slider_fragment = session.widget("z1_slider").fragment_id
            assert marks_fragment and slider_fragment and marks_fragment != slider_fragment
            for index in (1191, 7):
                result = await _click(session, index)
                assert not result.exceptions, result.exceptions
                kinds = [kind for kind, _ in result.elements]
                # the click's answer and the sliders, each in its fragment: no element of the
                # page outside them, and not the map's figure (not even as a cached reference)
                assert {fragment for _, fragment in result.elements} == {marks_fragment, slider_fragment}
                assert "plotly_chart" not in kinds
                assert "imgs" in kinds  # the click strip's original and reconstruction
                mu = _mu(session, index)
                # the sliders were moved to the digit's mu (snapped to their 0.05 step) and sent
                # with their new value, which the page must show (set_value)
                for key, m in zip(("z1_slider", "z2_slider"), mu):
                    slider = session.widget(key).proto
                    assert slider.set_value and slider.value[0] == pytest.approx(round(m / 0.05) * 0.05, abs=1e-6)
                # the marks element puts the ring on the digit and the star at the sliders' z
                marks = json.loads(session.widget("map_marks").proto.json)
                shapes = {s["name"]: s for s in marks["shapes"]}
                assert shapes["selected digit"]["xanchor"] == pytest.approx(mu[0], abs=1e-3)
                assert shapes["selected digit"]["yanchor"] == pytest.approx(mu[1], abs=1e-3)
                star = shapes[marks["names"][-1]]
                assert (star["xanchor"], star["yanchor"]) == pytest.approx(
                    [session.widget(k).proto.value[0] for k in ("z1_slider", "z2_slider")])
            # a whole-page run sends the map again: what the assertions above would catch
            rerun = await session.rerun()
            assert any(kind == "plotly_chart" for kind, _ in rerun.elements)
        finally:
            await session.close()

    _run(scenario())


def test_on_a_projected_map_a_click_reruns_the_traversals_from_that_digit(app_url):
    async def scenario():
        session = StreamlitSession(app_url, follow_auto_reruns=False)
        try:
            await session.open()
            # the sidebar's model list sends the label shown (the model's short name)
            labels = registry.model_labels(registry.model_options())
            label = next(text for choice, text in labels.items() if choice.endswith("mnist_ae_z10.safetensors"))
            assert label in session.widget("model_choice").proto.options
            chosen = await session.set_widget("model_choice", string_value=label)
            assert not chosen.exceptions and any(kind == "plotly_chart" for kind, _ in chosen.elements)
            traversal_fragment = session.widget("traversal_steps").fragment_id
            marks_fragment = session.widget("map_marks").fragment_id
            assert traversal_fragment and marks_fragment and traversal_fragment != marks_fragment
            result = await _click(session, 4242)
            assert not result.exceptions, result.exceptions
            assert {fragment for _, fragment in result.elements} == {marks_fragment, traversal_fragment}
            assert "plotly_chart" in [kind for kind, _ in result.elements]  # the traversal's image rows
            texts = session.texts()
            assert any("Test digit 4242**" in t for t in texts)
            assert any("Starts from test digit 4242, the one clicked on the map" in t for t in texts)
            assert any("a traversal of test digit 4242" in t for t in texts)
        finally:
            await session.close()

    _run(scenario())


def test_a_click_does_not_send_the_decoders_weights_again(app_url):
    """The decoder's weights (2.1 MB of safetensors bytes) are drawn outside the fragments a
    click reruns: the page's run sends them, a click's run neither sends them nor refers to
    them (the server does not copy and hash them again); a whole-page run draws them again
    (as a cached reference), which shows that the count below can see them."""
    async def scenario():
        session = StreamlitSession(app_url, follow_auto_reruns=False)
        try:
            opened = await session.open()
            weights = session.widget("browser_decoder_weights")
            size = len(weights.proto.bytes)
            assert weights.fragment_id == "" and size > 1_000_000  # outside every fragment
            assert opened.component_bytes >= size
            for index in (1191, 7):
                result = await _click(session, index)
                assert not result.exceptions, result.exceptions
                assert any(f"Test digit {index}**" in t for t in session.texts())
                assert result.component_bytes == 0
                assert result.wire_bytes < size / 10  # what a click's run sends: the strip, marks, sliders
            rerun = await session.rerun()
            assert rerun.component_bytes >= size
        finally:
            await session.close()

    _run(scenario())
