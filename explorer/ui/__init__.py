"""Everything Streamlit, used by ``app.py`` and the pages; imports :mod:`explorer.core`,
never the other way round. Grouped by job:

- :mod:`~explorer.ui.state`: session-state defaults (:mod:`~explorer.ui.state.session`),
  the model registry (:mod:`~explorer.ui.state.registry`: shipped files, session models
  and uploads as :class:`~explorer.ui.state.model_entry.ModelEntry`; the sidebar choice), the
  caches (:mod:`~explorer.ui.state.caches`, the only ``st.cache_*``, keyed by the model
  entry) and what a browser keeps across reloads;
- :mod:`~explorer.ui.components`: browser components, each module's Python beside its
  JavaScript, and the one wire format (``safetensors.js``);
- :mod:`~explorer.ui.figures`: Plotly figures, the latent map and what a click on it means;
- :mod:`~explorer.ui.jobs`: background trainings (no Streamlit): the lifecycle that the
  Train page's run and the Compare page's twin run share, the queue, the watchdog;
- :mod:`~explorer.ui.page`: what every page has around its views (layout, start-up);
- :mod:`~explorer.ui.views`: what a page shows, each view bound to one model and a key
  prefix, so several can stand on one page.
"""
