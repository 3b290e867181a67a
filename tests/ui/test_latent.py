"""Latent-space logic of the explorer: decoding, manifold grid, ellipses, ranges, exports."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.ui import figures
from explorer.ui.figures import charts, map_clicks, map_figure
from explorer.core.images import png_bytes, upscale_nearest
from explorer.core.latent import decode_z, encode_dataset, encodings_table, image_terms, posterior_ellipse
from explorer.core.manifold import decode_manifold, manifold_coordinates, manifold_z
from explorer.ui.figures.slider_ranges import LatentRange, latent_ranges
from explorer.core.models import ModelConfig, build_model
from explorer.core.objective import loss_terms


@pytest.fixture(scope="module")
def model():
    return build_model(ModelConfig(kind="vae", latent_dim=2, hidden_sizes=(64,)), seed=0).eval()


def test_paper_spacing_is_the_inverse_gaussian_cdf_of_linear_points():
    coords = manifold_coordinates(20, "paper")
    unit = torch.linspace(0.05, 0.95, 20, dtype=torch.float64)
    expected = torch.distributions.Normal(0.0, 1.0).icdf(unit).numpy()
    np.testing.assert_allclose(coords, expected, atol=1e-9)
    np.testing.assert_allclose(coords, -coords[::-1], atol=1e-12)  # symmetric about 0
    assert np.all(np.diff(coords) > 0)
    assert coords[0] == pytest.approx(-1.6448536, abs=1e-6)  # Phi^-1(0.05)


def test_paper_spacing_puts_equal_prior_mass_between_neighbours():
    coords = torch.as_tensor(manifold_coordinates(9, "paper"))
    mass = torch.diff(torch.distributions.Normal(0.0, 1.0).cdf(coords))
    torch.testing.assert_close(mass, torch.full_like(mass, 0.9 / 8))


def test_linear_spacing_and_bad_arguments():
    np.testing.assert_allclose(manifold_coordinates(5, "linear", -2, 2), [-2, -1, 0, 1, 2])
    for bad in [dict(n=4), dict(n=41), dict(n=10, spacing="log"), dict(n=10, spacing="linear", low=1, high=1)]:
        with pytest.raises(ValueError):
            manifold_coordinates(**bad)


def test_manifold_z_is_row_major_with_z2_decreasing_down_the_rows():
    coords = np.array([-1.0, 0.0, 2.0, 3.0, 4.0])
    z = manifold_z(coords)
    assert z.shape == (25, 2)
    np.testing.assert_array_equal(z[:5, 0], coords)  # top row: z1 left to right
    np.testing.assert_array_equal(z[:5, 1], np.full(5, 4.0))  # top row has the largest z2
    np.testing.assert_array_equal(z[::5, 1], coords[::-1])
    assert tuple(z[-1]) == (4.0, -1.0)


def test_decode_z_matches_the_decoder_mean_and_samples_are_binary(model):
    z = torch.tensor([[0.5, -1.0]])
    image = decode_z(model, (0.5, -1.0))
    assert image.shape == (1, 1, 28, 28)
    torch.testing.assert_close(image, torch.sigmoid(model.decode(z)))
    sample = decode_z(model, z, sample=True, generator=torch.Generator().manual_seed(0))
    assert set(sample.unique().tolist()) <= {0.0, 1.0}
    again = decode_z(model, z, sample=True, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(sample, again)
    with pytest.raises(ValueError):
        decode_z(model, (0.1, 0.2, 0.3))


def test_decode_manifold_tiles_each_cell_at_its_place(model):
    z = manifold_z(manifold_coordinates(5, "paper"))
    grid = decode_manifold(model, z, padding=2)
    assert grid.shape == (3, 5 * 30 + 2, 5 * 30 + 2)
    r, c = 3, 1
    cell = grid[0, 2 + r * 30 : 2 + r * 30 + 28, 2 + c * 30 : 2 + c * 30 + 28]
    torch.testing.assert_close(cell, decode_z(model, z[r * 5 + c])[0, 0])
    assert grid.min() >= 0 and grid.max() <= 1


def test_decode_manifold_refuses_a_latent_space_that_is_not_2d():
    model3 = build_model(ModelConfig(kind="ae", latent_dim=3, hidden_sizes=(16,)), seed=0)
    with pytest.raises(ValueError, match="2-D latent"):
        decode_manifold(model3, np.zeros((25, 3), dtype=np.float32))


def test_posterior_ellipse_is_axis_aligned_with_half_axes_k_sigma():
    mu, sigma = np.array([1.0, -2.0]), np.array([0.5, 0.2])
    for k in (1, 2):
        e = posterior_ellipse(mu, sigma, k)
        np.testing.assert_allclose(e[0], e[-1])  # closed
        np.testing.assert_allclose(((e - mu) / (k * sigma)) ** 2 @ np.ones(2), 1.0)  # on the ellipse
        np.testing.assert_allclose(e[:, 0].max() - mu[0], k * sigma[0], rtol=1e-3)
        np.testing.assert_allclose(mu[1] - e[:, 1].min(), k * sigma[1], rtol=1e-3)
    circle = posterior_ellipse(np.zeros(2), np.ones(2), 3)
    np.testing.assert_allclose(np.linalg.norm(circle, axis=1), 3.0)


def test_latent_ranges_vae_prior_range_and_ae_extent():
    mu = np.array([[-1.0, 0.5], [2.0, -3.0]], dtype=np.float32)
    r1, r2 = latent_ranges(mu, stochastic=True)
    assert (r1.low, r1.high, r1.step) == (-4.0, 4.0, 0.05)
    assert (r2.low, r2.high, r2.step) == (-4.0, 4.0, 0.05)
    wide = latent_ranges(np.array([[-1.0, 4.55], [2.0, -4.7]], dtype=np.float32), stochastic=True)
    assert [(r.low, r.high, r.step) for r in wide] == [(-4.0, 4.0, 0.05), (-5.0, 5.0, 0.05)]
    ae = np.array([[-13.2, 0.1], [27.9, 5.3]], dtype=np.float32)
    a1, a2 = latent_ranges(ae, stochastic=False)
    # extent 41.1 / 160 steps = 0.257 -> the next "nice" step 0.5; range rounded out to 10 steps
    assert (a1.low, a1.high, a1.step) == (-15.0, 30.0, 0.5)
    assert a2.low <= 0.1 and a2.high >= 5.3


def test_range_snap_clamps_and_rounds_to_the_step():
    r = LatentRange(-4.0, 4.0, 0.05)
    assert r.snap(0.123) == 0.1
    assert r.snap(-9) == -4.0 and r.snap(9) == 4.0
    assert r.snap(1.975) in (1.95, 2.0)


def test_image_terms_equal_loss_terms_with_the_same_seed(model, mnist):
    image = mnist.test_images[0]
    terms = image_terms(model, image, seed=3)
    ref = loss_terms(model, image[None], generator=torch.Generator().manual_seed(3))
    assert terms.reconstruction == pytest.approx(ref.reconstruction.item(), rel=1e-6)
    assert terms.kl == pytest.approx(ref.kl.item(), rel=1e-6)
    assert terms.neg_elbo == pytest.approx(ref.loss.item(), rel=1e-6)
    ae = build_model(ModelConfig(kind="ae", latent_dim=2, hidden_sizes=(64,)), seed=0).eval()
    ae_terms = image_terms(ae, image)
    assert ae_terms.kl is None and ae_terms.neg_elbo is None and ae_terms.reconstruction > 0


def test_png_bytes_and_nearest_upscale_round_trip():
    image = torch.rand(1, 28, 28)
    big = upscale_nearest(image, 10)
    assert big.shape == (1, 280, 280)
    torch.testing.assert_close(big[0, 10 * 3 + 7, 10 * 5 + 2], image[0, 3, 5])
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(big))).convert("L"), dtype=np.float32) / 255
    np.testing.assert_allclose(decoded, big[0].numpy(), atol=1 / 255 + 1e-6)


def test_encodings_table_has_mu_sigma_labels(model, mnist):
    from explorer.core.latent import encode_dataset

    images, labels = mnist.test_images, mnist.test_labels
    enc = encode_dataset(model, images[:50], labels[:50])
    table = encodings_table(enc)
    assert list(table.columns) == ["index", "label", "mu_1", "mu_2", "sigma_1", "sigma_2"]
    np.testing.assert_allclose(table[["sigma_1", "sigma_2"]].to_numpy(), enc.sigma)
    assert table["label"].tolist() == labels[:50].tolist()


def test_map_click_tells_digits_from_empty_space():
    digit = {"curve_number": 3, "point_index": 7, "x": 0.1, "y": 0.2, "customdata": [1234, 3]}
    space = {"curve_number": map_figure.CATCHER_TRACE, "point_index": 99, "x": -1.5, "y": 2.0}
    assert map_clicks.map_click([digit]) == map_clicks.PointClick(1234)
    # what chromium sends for a row of a typed array
    assert map_clicks.map_click([{**digit, "customdata": {"0": 1234, "1": 3}}]) == map_clicks.PointClick(1234)
    assert map_clicks.map_click([space]) == map_clicks.SpaceClick((-1.5, 2.0))
    assert map_clicks.map_click([digit, space]) == map_clicks.SpaceClick((-1.5, 2.0))  # the last counts
    assert map_clicks.map_click([space], catcher=False) is None
    assert map_clicks.map_click([]) is None


def test_latent_map_traces_catcher_covers_the_range_and_overlays():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(200, 2)).astype(np.float32)
    labels = np.arange(200) % 10
    ranges = latent_ranges(xy, stochastic=True)
    fig = map_figure.latent_map(xy, labels, ranges=ranges, selected=(xy[5], np.array([0.3, 0.1])),
                                z_marker=(1.0, 1.0), grid_z=manifold_z(manifold_coordinates(5)), prior_circles=True)
    catcher = fig.data[map_figure.CATCHER_TRACE]
    assert catcher.name == map_figure.CATCHER_NAME
    assert min(catcher.x) == ranges[0].low and max(catcher.x) == ranges[0].high
    assert min(catcher.y) == ranges[1].low and max(catcher.y) == ranges[1].high
    assert np.diff(np.unique(catcher.x)).max() <= map_figure.CATCHER_STEPS * ranges[0].step + 1e-6
    names = [t.name for t in fig.data]
    assert names[:10] == [f"digit {d}" for d in range(10)]
    assert {"prior 3 sigma", map_figure.GRID_OVERLAY_NAME} <= set(names)
    # the selection and the star are layout shapes (above the WebGL points), see map_figure.map_marks
    assert [s.name for s in fig.layout.shapes] == [*map_figure.SELECTION_MARKS, map_figure.STAR_MARK]
    assert (fig.layout.shapes[-1].xanchor, fig.layout.shapes[-1].yanchor) == (1.0, 1.0)


def test_manifold_figure_cell_points_carry_their_z():
    z = manifold_z(manifold_coordinates(5, "linear", -2, 2))
    fig = charts.manifold_figure(b"\x89PNG", z, cell=28, padding=2)
    cells = fig.data[1]
    np.testing.assert_allclose(np.asarray(cells.customdata)[:, :2], z)
    assert charts.grid_click([{"curve_number": 1, "customdata": list(cells.customdata[7])}]) == tuple(map(float, z[7]))
    assert charts.grid_click([{"curve_number": 0, "customdata": None}]) is None
    as_dict = {str(k): v for k, v in enumerate(cells.customdata[7])}
    assert charts.grid_click([{"curve_number": 1, "customdata": as_dict}]) == tuple(map(float, z[7]))


# --- Lesson tools: interpolation, prior samples, the reparameterization cloud --------------


def test_interpolate_runs_evenly_along_the_straight_line_between_the_ends():
    from explorer.core.latent import interpolate

    start, end = np.array([-1.0, 2.0]), np.array([3.0, -2.0])
    path = interpolate(start, end, 5)
    assert path.shape == (5, 2) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], start) and np.testing.assert_allclose(path[-1], end)
    np.testing.assert_allclose(path, [[-1, 2], [0, 1], [1, 0], [2, -1], [3, -2]], atol=1e-6)
    steps = np.diff(path, axis=0)
    np.testing.assert_allclose(steps, np.tile(steps[0], (4, 1)), atol=1e-6)  # equal steps, one direction
    assert interpolate(np.zeros(3), np.ones(3), 2).tolist() == [[0, 0, 0], [1, 1, 1]]
    with pytest.raises(ValueError, match="at least 2"):
        interpolate(start, end, 1)
    with pytest.raises(ValueError, match="one shape"):
        interpolate(start, np.zeros(3), 4)


def test_prior_samples_are_seeded_standard_normal_draws():
    from explorer.core.latent import prior_samples

    a, b = prior_samples(16, 2, seed=3), prior_samples(16, 2, seed=3)
    assert a.shape == (16, 2) and np.array_equal(a, b)
    assert not np.array_equal(a, prior_samples(16, 2, seed=4))
    many = prior_samples(20_000, 2, seed=0)
    assert abs(many.mean()) < 0.03 and abs(many.std() - 1) < 0.03
    with pytest.raises(ValueError):
        prior_samples(0)


def test_posterior_samples_are_mu_plus_sigma_eps_through_the_models_reparameterize(model):
    from explorer.core.latent import posterior_samples, prior_samples

    mu, logvar = np.array([0.5, -1.0], dtype=np.float32), np.log(np.array([0.1, 0.3], dtype=np.float32) ** 2)
    z = posterior_samples(model, mu, logvar, 8, seed=2)
    eps = prior_samples(8, 2, seed=2)  # the same generator draws, in the same order
    np.testing.assert_allclose(z, mu + np.array([0.1, 0.3]) * eps, rtol=1e-5, atol=1e-6)
    ae = build_model(ModelConfig(kind="ae", latent_dim=2, hidden_sizes=(8,)), seed=0)
    with pytest.raises(ValueError, match="no posterior"):
        posterior_samples(ae, mu, logvar, 8)


def test_terms_noise_is_the_eps_of_the_reconstruction_term(vae_checkpoint, mnist):
    from explorer.core.latent import terms_noise

    model, image = vae_checkpoint.model, mnist.test_images[7]
    mu, logvar = model.encode(image[None])
    z = mu + torch.exp(0.5 * logvar) * torch.as_tensor(terms_noise(2))
    with torch.inference_mode():
        rec = float(model.likelihood.nll(model.decode(z), image[None])[0])
    assert rec == pytest.approx(image_terms(model, image).reconstruction, abs=1e-4)


def _spec(fig):
    """The JSON Streamlit sends for a figure, parsed (key order aside)."""
    import json

    import plotly.io
    import plotly.tools

    return json.loads(plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(fig, True), validate=False))


def test_latent_scatter_from_the_cache_equals_a_validated_figure_and_is_independent(model, mnist):
    mu = encode_dataset(model, mnist.test_images[:500], mnist.test_labels[:500]).mu
    labels = mnist.test_labels[:500].numpy()
    reference = _spec(figures._validated_scatter(mu, labels, None, ("z1", "z2")))
    first = figures.latent_scatter(mu, labels)
    assert _spec(first) == reference
    # a caller's changes are validated as on any figure (a title string becomes {"text": ...})
    # and stay in its own figure
    def change(fig):
        fig.add_trace(map_figure.catcher_trace(latent_ranges(mu, stochastic=True)))
        fig.update_layout(height=123, title="step 8", xaxis_title="z1 (nats)", font={"size": 15})
        fig.update_yaxes(tickfont_size=18, range=[-1, 1])
        fig.data[0].marker.size = 9
        return _spec(fig)

    changed = change(first)
    assert changed == change(figures._validated_scatter(mu, labels, None, ("z1", "z2")))
    assert changed["layout"]["title"] == {"text": "step 8"}
    again = figures.latent_scatter(mu, labels)
    assert _spec(again) == reference
    assert len(again.data) == 10 and again.layout.height == 600
    # different codes, labels or axis names are a different figure
    other = figures.latent_scatter(mu + 1, labels)
    assert _spec(other)["data"][0]["x"] != reference["data"][0]["x"]
    named = _spec(figures.latent_scatter(mu, labels, axis_names=("PC1 of mu", "PC2 of mu")))
    assert named["layout"]["xaxis"]["title"]["text"] == "PC1 of mu"
    assert named["data"][0]["hovertemplate"] != reference["data"][0]["hovertemplate"]


@pytest.mark.parametrize("point", [
    {"curve_number": "3", "customdata": [12, 3]},  # a curve that is not a number
    {"curve_number": True, "customdata": [12, 3]},
    {"curve_number": -1, "customdata": [12, 3]},
    {"curve_number": 3},  # no customdata
    {"curve_number": 3, "customdata": []},
    {"curve_number": 3, "customdata": ["12", 3]},
    {"curve_number": 3, "customdata": [-4, 3]},
    {"curve_number": 3, "customdata": [1.5, 3]},
    {"curve_number": 3, "customdata": {"a": 1}},
    {"curve_number": map_figure.CATCHER_TRACE, "x": "left", "y": 0.0},
    {"curve_number": map_figure.CATCHER_TRACE, "x": float("nan"), "y": 0.0},
    {"curve_number": map_figure.CATCHER_TRACE, "x": 1.0},
    "not a point",
], ids=repr)
def test_map_click_skips_malformed_points(point):
    # the page sends the clicked points (explorer.ui.components.map_marks): anything may arrive
    good = {"curve_number": 3, "point_index": 7, "x": 0.1, "y": 0.2, "customdata": [1234, 3]}
    assert map_clicks.map_click([point]) is None
    assert map_clicks.map_click([good, point]) == map_clicks.PointClick(1234)  # the last usable one counts
    assert map_clicks.map_click([{**good, "customdata": [1234.0, 3]}]) == map_clicks.PointClick(1234)
