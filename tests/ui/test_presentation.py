"""Presentation mode (AppTest, no browser): the sidebar toggle, kept in the URL as present=1."""

import pytest


def _map_tick_size(at) -> int | None:
    from tests.helpers.charts import chart_spec

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


#: The model-kind pages' charts by page (issue 21: their legends stayed at Streamlit's 12 px).
MODEL_KIND_CHARTS = {"pages/denoising.py": ("dae_curve_chart", "dae_digits_chart"),
                 "pages/contractive.py": ("cae_map_plain", "cae_map_denoising", "cae_map_contractive"),
                 "pages/linear_pca.py": ("linear_pca_ae_map", "linear_pca_pca_map"),
                 # Streamlit's 12 px ticks here too, and 15 px labels while presenting (seen in chromium)
                 "pages/semi_supervised.py": ("m2_accuracy", "m2_confusion", "m2_epochs"),
                 "pages/conditional.py": ("cvae_style_chart",),
                 "pages/latent_size.py": ("ls_reconstructions_chart",)}


def _smallest_plot_font(layout: dict) -> int:
    """The smallest of a figure spec's legend, tick, axis title and hover label sizes (a
    missing one: 0, Streamlit's theme then draws it at 12 px)."""
    axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))]
    sizes = [layout.get(part, {}).get("font", {}).get("size", 0) for part in ("legend", "hoverlabel")]
    sizes += [a.get("tickfont", {}).get("size", 0) for a in axes]
    sizes += [a.get("title", {}).get("font", {}).get("size", 0) for a in axes if a.get("title", {}).get("text")]
    return min(sizes)


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
def test_model_kind_pages_charts_set_readable_legend_and_tick_sizes(app_test, present):
    from tests.helpers.charts import chart_spec
    from explorer.ui.page.layout import PLOT_FONT_PX, PRESENT_PLOT_FONT_PX

    at = app_test()
    if present:
        at.query_params = {"present": "1"}
    at.run()
    for page, keys in MODEL_KIND_CHARTS.items():
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        for key in keys:
            smallest = _smallest_plot_font(chart_spec(at, key)["layout"])
            assert smallest >= (PRESENT_PLOT_FONT_PX if present else PLOT_FONT_PX), (page, key, smallest)
