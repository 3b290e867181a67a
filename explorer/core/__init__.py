"""The model library: data, configs, likelihoods, networks, the model family, the
objective, metrics, training, checkpoints and latent-space computations.

PyTorch (with torchvision and Pillow) only: nothing here imports Streamlit, Plotly or any module of
:mod:`explorer.ui` (a test enforces it). Imports inside run one way:
config -> likelihoods, networks -> models -> objective -> metrics -> train, and
config, models -> checkpoints; data and images stand alone; latent uses models,
images and the objective; encoding_cache uses latent.
"""
