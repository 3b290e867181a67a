"""Latent-space explorer: autoencoders on MNIST and an interactive Streamlit app.

- :mod:`explorer.core`: the model library (PyTorch only, no Streamlit or Plotly);
- :mod:`explorer.cli`: command-line tools (train, evaluate) over the library;
- :mod:`explorer.ui`: everything Streamlit (model registry, caches, views, figures,
  background training), used by ``app.py`` and ``pages/``.

Imports run one way: core -> cli, core -> ui -> pages. Nothing heavy runs at import
time; import the submodules you need.
"""
