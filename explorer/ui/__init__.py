"""Everything Streamlit: the session's model registry, caches, views, figures and
background training, used by ``app.py`` and the pages. Imports :mod:`explorer.core`,
never the other way round.

- :mod:`~explorer.ui.state.session`: the one place that sets session-state defaults;
- :mod:`~explorer.ui.state.registry`: shipped checkpoint files, session models and uploads,
  handed out as :class:`~explorer.ui.state.registry.ModelEntry` to any view; the sidebar choice;
- :mod:`~explorer.ui.state.caches`: the only ``st.cache_*`` wrappers, with explicit keys;
- :mod:`~explorer.ui.views`: latent map, decoder, manifold grid and click panel, each
  bound to one model and a key prefix, so several can stand on one page;
- :mod:`~explorer.ui.figures`: Plotly figures;
- :mod:`~explorer.ui.jobs.background_job`: the background-job lifecycle (no Streamlit) that
  :mod:`~explorer.ui.jobs.training_job` (the Train page's run) and :mod:`~explorer.ui.jobs.twin_job`
  (the Compare page's twin run) share; :mod:`~explorer.ui.jobs.train_form`: the Train page's
  settings, names and times.
"""
