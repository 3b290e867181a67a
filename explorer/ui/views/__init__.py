"""The explorer's views, each bound to one model and a key prefix (:class:`ShownModel`),
so two of them (for two models) can stand on one page without sharing widgets or state:

- :func:`latent_map.latent_map_view`: the map of test-set mu with click catcher and overlays;
- :func:`decoder.decoder_panel`: z sliders decoding live (a fragment);
- :func:`grid.manifold_panel`: the decoded manifold grid (a fragment);
- :func:`click.click_panel`: what the last click on the map or grid shows.
"""

from explorer.ui.views.common import ShownModel, ViewKeys

__all__ = ["ShownModel", "ViewKeys"]
