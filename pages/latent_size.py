"""Latent size and beta page: every shipped VAE in one table (test -ELBO, reconstruction,
KL, importance-sampled -log p(x), active units), the same digits reconstructed by each,
KL per latent dimension and latent traversals."""

import numpy as np
import streamlit as st

from explorer.ui.state import session
from explorer.ui.state.caches import mnist_test_latent_usage
from explorer.ui.figures.model_kind_figures import lower_bound_curves, lower_bound_figure
from explorer.ui.state.session import require_router
from explorer.ui.state.shipped import COLUMN_HELP, LATENT_SIZE_VAES, load_shipped, vae_table
from explorer.ui.views import ShownModel
from explorer.ui.views.latent_size import SIZES, kl_panel, reconstructions_panel
from explorer.ui.views.traversal import traversal_panel

DEFAULTS = {"ls_model": "z=20"}  # opens on inactive units: 11 of 20 active (checkpoints/README.md)
FIGURE_2 = (
    "**Kingma & Welling (2013), Figure 2** trains the same VAE (their AEVB) on MNIST with latent spaces of "
    "several sizes N_z (from 3 to 200) and plots the variational lower bound per image on training and "
    "test data as training goes on, against the wake-sleep algorithm. The bound reached is higher (better) "
    "for larger N_z, and more latent variables do not overfit: the KL term regularises, and dimensions the data "
    "does not need stay at the prior. Their Figure 5 (appendix) shows samples for N_z = 2, 5, 10 and 20. "
    "Here: compare the -ELBO column across z (lower is better), the reconstructions below, and how many "
    "dimensions are active."
)
BETA = ("**beta** weights the KL term in the training loss, reconstruction + beta * KL (beta = 1 is the true "
        "-ELBO; Higgins et al. 2017 call beta > 1 a beta-VAE). A larger beta pays more for every nat of KL, so "
        "fewer dimensions are used; a smaller one spends more KL on sharper reconstructions. The table's -ELBO is "
        "always the true one (beta = 1), so the models compare fairly.")


FIGURE_2_PAPER = (
    "**The paper's Figure 2** (Kingma & Welling 2013): lower bound per datapoint against training samples "
    "evaluated (log scale, up to 10^8), one panel per latent size (MNIST N_z = 3, 5, 10, 20, 200; Frey "
    "faces), train and test curves of AEVB against wake-sleep. AEVB converges faster and higher in every "
    "panel; train and test stay together, so more latent variables did not overfit (the KL term regularises)."
)


def figure2_panel(models: dict) -> None:
    """Kingma & Welling (2013) Figure 2 for the shipped VAEs (beta = 1): train and test lower
    bound against training samples evaluated, from each checkpoint's stored history."""
    curves = {}
    for name in SIZES:
        entry = models.get(name)
        if entry is None or not entry.checkpoint.history:
            continue
        per_epoch = entry.checkpoint.train_config.subset or 60_000
        curves[f"VAE {name}"] = lower_bound_curves(entry.checkpoint.history, per_epoch)
    if not curves:
        st.info("No shipped VAE with a stored training history is here, so there is no curve to draw.",
                icon=":material/info:")
        return
    chart_col, text_col = st.columns([3, 2])
    with chart_col:
        with st.container(key="ls_figure2"):
            st.plotly_chart(lower_bound_figure(curves), key="ls_figure2_chart", config={"displaylogo": False})
    finals = ", ".join(f"{name} {c['test'][-1]:.1f} (train {c['train'][-1]:.1f})" for name, c in curves.items())
    samples = max(c["samples"][-1] for c in curves.values())
    ends = [c["test"][-1] for c in curves.values()]
    trend = ("As in the paper, the final test bound rises with every step up in z." if all(np.diff(ends) > 0) else
             "Unlike the paper, the final test bound does not rise with every step up in z.")
    with text_col:
        st.markdown(FIGURE_2_PAPER)
        st.markdown(
            f"**Here**, from each checkpoint's stored history: test bound (-ELBO on the 10,000 test digits "
            f"after each epoch) and train bound (minus the epoch's mean training loss; beta = 1), up to "
            f"{samples:,.0f} samples. Final, nats per image: {finals}. {trend} Grey-level digits under a "
            f"Bernoulli decoder (not a normalised density for grey values): the levels are not directly "
            f"comparable with the paper's axis.")


def latent_size_page() -> None:
    st.title("Latent size and beta")
    session.init_view_state(DEFAULTS, tuple(DEFAULTS))
    models, missing = {}, []
    for file_name, name in LATENT_SIZE_VAES:
        entry, message = load_shipped(file_name)
        if entry is None:
            missing.append(message)
        else:
            models[name] = entry
    if not models:
        for message in missing:
            st.error(message, icon=":material/error:")
        st.stop()

    table_col, text_col = st.columns([5, 3])
    with table_col:
        with st.container(key="ls_table"):
            table = vae_table(models, lambda entry: mnist_test_latent_usage(entry).active_units)
            st.dataframe(table, key="ls_table_frame", hide_index=True,
                         column_config={k: st.column_config.Column(k, help=v) for k, v in COLUMN_HELP.items()})
        if missing:
            with st.expander(f"{len(missing)} checkpoint(s) missing", icon=":material/warning:"):
                for message in missing:
                    st.markdown(message)
        # the table and the reconstructions first, so they fit a 768 px high screen; their captions below
        reconstructions_panel(models)
        st.caption("**Table**: every shipped VAE (784-512-256 networks, Bernoulli decoder) on the 10,000 MNIST test "
                   "digits, nats per image as stored in each checkpoint; active units counted here. Hover a column "
                   "title.")
    with text_col:
        st.markdown(FIGURE_2)
        st.markdown(BETA)

    names = list(models)
    if st.session_state["ls_model"] not in names:
        st.session_state["ls_model"] = names[0]
    kl_tab, traversal_tab, figure2_tab = st.tabs(["KL per dimension", "Traversals",
                                                  "Lower bound vs samples (Fig. 2)"])
    with kl_tab:
        name = st.selectbox("Model", names, key="ls_model",
                            help="The VAE whose latent dimensions are shown here and on the Traversals tab.")
        kl_panel(models[name], name)
    with traversal_tab:
        st.caption(f"Model: VAE {name} (chosen on the KL per dimension tab).")
        traversal_panel(ShownModel.create(models[name], "ls_"), f"VAE {name}", with_click=False)
    with figure2_tab:
        figure2_panel(models)


require_router()
latent_size_page()
