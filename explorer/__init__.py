"""Latent-space explorer: AE and VAE models on MNIST, their objective, training,
checkpoints and the computations behind the Streamlit app.

Nothing heavy runs at import time; import the submodules you need.
"""
