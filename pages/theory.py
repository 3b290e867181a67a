"""Theory page: the ELBO, the closed-form KL, the reparameterization trick and the AE
loss, each with the numbers of the selected digit plugged in, and every term explained."""

import streamlit as st

from explorer.ui.state import session

from explorer.ui.views import theory
from explorer.ui.state.session import require_router


def theory_page() -> None:
    # Idempotent; a link opened on a fresh server can run this page before app.py has.
    session.init_session_state()
    st.markdown("#### Theory: what the two models minimise")
    numbers, page = theory.theory_source()
    if numbers:
        n0 = numbers[0]
        where = "Compare page" if page == theory.COMPARE_PAGE else "Explorer"
        st.markdown(f"Numbers for **test digit {n0.index}** (label **{n0.label}**), selected on the {where}, "
                    f"under {' and '.join(f'**{n.entry.title}**' for n in numbers)}.")
        st.page_link(page, label=f"Show this digit on the {where}", icon=":material/arrow_back:")
    else:
        st.info("Select a digit on the Compare page (or click one on the Explorer) to see its numbers plugged in.")
        st.page_link(theory.COMPARE_PAGE, label="Go to the Compare page", icon=":material/compare:")
    vaes = [n for n in numbers if n.variational]
    aes = [n for n in numbers if not n.variational]

    left, right = st.columns([2, 1], gap="large")
    with left:
        with st.container(key="theory_elbo"):  # the page's key view: on screen at 1366x768
            st.markdown("**The VAE's loss: minus the evidence lower bound (ELBO)** (Kingma & Welling 2013, Eq. 3 "
                        "and 10)")
            st.latex(r"\log p(x) \ \ge\ \mathcal{L}(x) = \mathbb{E}_{q(z|x)}\big[\log p(x|z)\big]"
                     r" - D_{KL}\big(q(z|x)\,\|\,p(z)\big)")
            st.latex(r"-\mathcal{L}(x) \approx \underbrace{-\log p(x|z)}_{\text{reconstruction}}"
                     r" + \underbrace{D_{KL}\big(q(z|x)\,\|\,p(z)\big)}_{\text{KL}},\quad z \sim q(z|x)")
            for n in vaes:
                st.latex(theory.elbo_latex(n))
                st.caption(f"{n.entry.title}; trained with beta = {n.entry.model.config.beta:g} "
                           "(loss = reconstruction + beta * KL).")

        st.markdown("**KL in closed form** (Gaussian posterior, standard normal prior; paper, Appendix B)")
        st.latex(r"D_{KL}\big(\mathcal{N}(\mu, \operatorname{diag}\sigma^2)\,\|\,\mathcal{N}(0, I)\big) = "
                 r"-\tfrac{1}{2}\sum_{j=1}^{J}\big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big)")
        for n in vaes:
            st.latex(theory.kl_latex(n))

        st.markdown("**The reparameterization trick** (paper, Section 2.4)")
        st.latex(r"z = \mu + \sigma \odot \varepsilon,\qquad \varepsilon \sim \mathcal{N}(0, I)")
        for n in vaes:
            st.latex(theory.reparameterization_latex(n))
            st.caption("The z (eps drawn with seed 0) at which the reconstruction term above was computed.")

        st.markdown("**The plain autoencoder's loss**: reconstruction only, no KL, no prior")
        # two lines: on one it filled the column at 1366x768
        st.latex(r"\begin{aligned} \mathcal{L}_{AE}(x) &= -\log p\big(x \mid z = f(x)\big) \\ "
                 r"&= -\sum_{i=1}^{784}\big[x_i \log \hat x_i + (1 - x_i)\log(1 - \hat x_i)\big] \end{aligned}")
        st.caption("f is the encoder, x-hat the decoder's output at z = f(x); the sum is the binary cross-entropy "
                   "of a Bernoulli decoder (a Gaussian decoder gives squared error instead).")
        for n in aes:
            st.latex(theory.ae_loss_latex(n))
            st.caption(f"{n.entry.title}: KL and -ELBO are n/a (no posterior, no prior).")
    with right:
        st.markdown("**Terms**")
        st.markdown("\n".join(f"- **{term}**: {text}" for term, text in theory.GLOSSARY.items()))


require_router()
theory_page()
