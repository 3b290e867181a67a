"""Train page: settings, a live view of a background training run, Stop, save/download/upload."""

import streamlit as st

from explorer.ui import figures
from explorer.ui.figures import charts
from explorer.ui.state import caches, registry, session
from explorer.ui.jobs import train_form as form
from explorer.ui.jobs import training_job as tj
from explorer.ui.jobs import training_queue as tq
from explorer.ui.state.session import require_router

LIVE_REFRESH_SECONDS = 2.0  # each redraw costs ~70 ms of CPU taken from training
FIGURE_MEMO_KEY = "train_figure_memo"  # (job id, kind, epoch) -> figure, rebuilt only on change
KINDS = form.MODEL_CHOICES  # the VAE first: the radio's default
MODEL_HELP = ("VAE: encoder q(z|x), prior N(0, I), loss -ELBO = reconstruction + beta * KL. AE: one code z per image, "
              "reconstruction loss only. Conditional VAE: the digit label goes into encoder and decoder (Kingma et "
              "al. 2014's M2 with every label known). M2 (semi-supervised VAE, Kingma et al. 2014): a conditional VAE "
              "plus a classifier q(y|x) that guesses the digit of the images whose label is not known; only some "
              "labels are given, the rest train unlabelled. CAE: an AE whose loss adds lambda * ||J_h(x)||_F^2, "
              "the squared size of the encoder's Jacobian, "
              "so the code moves little when the image moves (Rifai et al. 2011); SCAE: the same measured with "
              "noisy copies, lambda * E||h(x) - h(x~)||^2. Linear AE: one linear layer each way, no activation, squared error; it learns the "
              "subspace of the first principal components (compare it on the Linear AE = PCA page).")
LINEAR_AE_NOTE = ("Linear AE: encoder z = W x + b and decoder mean W' z + b', no hidden layers and no sigmoid, "
                  "trained with squared error (a Gaussian decoder with identity mean); network, hidden sizes, "
                  "decoder and beta do not apply.")
ARCHITECTURES = form.ARCHITECTURES
#: Short: they fit the Network field's narrow column at 1366x768 (NETWORK_HELP says more).
ARCHITECTURE_LABELS = {"mlp": "Fully connected", "conv": "Conv, Keras replica", "strided_conv": "Conv, strided 4x4"}
assert tuple(ARCHITECTURE_LABELS) == ARCHITECTURES, "label every architecture of config.ARCHITECTURES"
_DEFAULT_WIDTHS = {a: form.default_hidden_text(a) for a in ARCHITECTURES}
NETWORK_HELP = (
    f"Fully connected (an MLP): dense layers of the hidden sizes (default {_DEFAULT_WIDTHS['mlp']}); the decoder "
    "mirrors them. Conv, Keras replica (the convolutional VAE of Chollet 2017): encoder Conv2D 32, 64 stride 2, "
    f"64, 64, then the hidden sizes as dense layers (default {_DEFAULT_WIDTHS['conv']}); decoder Dense, "
    "ConvTranspose2D 32 stride 2, Conv2D 1. It is several times slower than the MLP on a CPU. Conv, strided 4x4: "
    "encoder Conv2D 16, 32 "
    f"(4x4, stride 2), then the hidden sizes as dense layers (default {_DEFAULT_WIDTHS['strided_conv']}); the "
    "decoder runs them backwards (dense, ConvTranspose2D 16, 1, 4x4 stride 2).")
HIDDEN_HELP = ("Fully connected: the encoder's layer widths; the decoder mirrors them. Convolutional: the dense "
               "widths after the convolutions. The default follows the network (" + "; ".join(
                   f"{ARCHITECTURE_LABELS[a]}: {w}" for a, w in _DEFAULT_WIDTHS.items())
               + "); widths you typed stay when you change the network.")
#: The network the Hidden sizes field's text was last drawn for (see :func:`_follow_network`).
HIDDEN_NETWORK_KEY = "train_hidden_network"
#: True in the run after :func:`_follow_network` wrote the Hidden sizes field's text.
HIDDEN_FOLLOWED_KEY = "train_hidden_followed"
#: The M2 choice "Reads": the pixels (plain M2) or an M1 VAE file's codes (M1+M2).
PIXELS = ""
M1_HELP = ("What M2's encoder, classifier and decoder read (Kingma et al. 2014). Pixels: M2 itself, on the "
           "784 grey levels. A VAE file: M1+M2, M2 trained on the codes of that VAE (M1): each image becomes "
           "its encoder mean mu, and M2's decoder rebuilds the code, not the pixels (M1's decoder draws them). "
           "The paper's best results (3.33 % test error with 100 labels against 11.97 % for M2) come from "
           "M1+M2. Lists the VAE files in checkpoints/, shipped or saved here.")
LABELS_HELP = ("How many training images keep their digit label; the rest train without one, and the "
               "classifier q(y|x) learns from both (Kingma et al. 2014, Table 1: 100, 600, 1000, 3000). "
               "Chosen balanced over the ten digits (100: 10 per digit) and by the seed.")
ALPHA_HELP = ("alpha weighs the classification loss -log q(y|x) on the labelled images against the two "
              "bounds in the loss J^alpha (Kingma et al. 2014, Eq. 9). Set here as alpha / N, N the "
              "training images: the paper's 0.1 means alpha = 0.1 * N (6,000 for 60,000 images), so each "
              "labelled image's classification loss counts 0.1 * N / (known labels) times (60 for 100 "
              "labels of 60,000). 0: the classifier learns from the bounds only.")
CODE_STD_HELP = ("M1+M2's decoder models the M1 code (mu of the M1 VAE) as a Gaussian of this standard "
                 "deviation. Small (0.1): the code must be rebuilt exactly and the style z carries the "
                 "digit too, so the decoder ignores the label y; 0.7 (the shipped model's) lets the label "
                 "carry the class (docs/semi-supervised.md measures 0.3 to 1.0).")


def _follow_network() -> None:
    """On a change of network: the hidden sizes become the new network's default, unless
    the user typed their own (:func:`explorer.ui.jobs.train_form.hidden_after_network_change`)."""
    state = st.session_state
    state["train_hidden"] = form.hidden_after_network_change(
        state.get("train_hidden", _DEFAULT_WIDTHS[state[HIDDEN_NETWORK_KEY]]), state[HIDDEN_NETWORK_KEY],
        state["train_architecture"])
    state[HIDDEN_FOLLOWED_KEY] = True


def _figure(job: tj.TrainingJob, kind: str, epoch: int, build):
    """The figure ``kind`` of ``job`` at ``epoch``, built once (redraws reuse it)."""
    memo = st.session_state.get(FIGURE_MEMO_KEY)
    key = (id(job), kind, epoch)
    if memo is None or key not in memo:
        memo = {k: v for k, v in (memo or {}).items() if k[0] == id(job)}
        memo[key] = build()
        st.session_state[FIGURE_MEMO_KEY] = memo
    return memo[key]


def _live_view(job: tj.TrainingJob, live: bool) -> None:
    snap = job.snapshot()
    if live and snap.state in tj.DONE_STATES:
        st.rerun()  # whole app: the sidebar offers the new model, the result section shows
    if snap.state == "queued":
        text = tq.waiting_text(snap.queue_position, job.queue.limit)
    elif snap.num_batches:
        text = f"Epoch {snap.epoch}/{snap.epochs}, batch {snap.batch}/{snap.num_batches}"
    else:
        text = "No training step was taken" if snap.state in tj.DONE_STATES else "Starting..."
    if snap.state != "queued" and (snap.num_batches or snap.state not in tj.DONE_STATES):
        text += f"  ·  elapsed {form.format_seconds(snap.elapsed)}  ·  about {form.format_seconds(snap.eta)} left"
    st.progress(snap.fraction if snap.num_batches else 0.0, text=text)
    if live:
        if st.button("Stop", key="stop_training", icon=":material/stop:"):
            job.stop()
        # A slot that is there in every run, so the columns below keep their delta path
        # when "Stopping..." appears. Streamlit 1.67 bug: when a fragment rerun starts
        # before the previous one's messages were sent (a loaded server), it drops that
        # run's deltas but keeps its cached-chart references (ForwardMsgQueue.clear keeps
        # ref_hash messages: their delta.fragment_id is ""). Such a reference addressed
        # to columns the browser does not have yet crashed the page ("Cannot set a node
        # at a delta path") and closed its connection; into existing columns it is harmless.
        stopping = st.empty()
        if job.stopping:
            stopping.caption("Stopping...")
    map_col, curve_col = st.columns([3, 2])
    with map_col:
        if snap.snapshots:
            if live or len(snap.snapshots) == 1:
                shown = snap.snapshots[-1]
            else:
                epoch = st.slider("Replay: latent map after epoch", 0, len(snap.snapshots) - 1,
                                  len(snap.snapshots) - 1, key="replay_epoch")
                shown = snap.snapshots[epoch]
            title = "initial weights" if shown.epoch == 0 else f"after epoch {shown.epoch}"
            fig = _figure(job, "map", shown.epoch, lambda: charts.live_chart(figures.latent_scatter(
                shown.xy, snap.sample_labels, title=f"Latent means mu, {title}", axis_names=shown.axis_names),
                latent_map=True))
            st.plotly_chart(fig, key="training_map", config={"displaylogo": False})
            if shown.axis_names[0] != "z1":
                st.caption("Latent dimension above 2: the map shows the first two principal "
                           "components of mu.")
            if form.model_traits(job.model_config.kind).semi_supervised:
                st.caption("M2: mu is the style z of q(z|x, y), given each digit's true label y; the digit "
                           "itself is the classifier q(y|x)'s job (its test error is beside the curves).")
    with curve_col:
        if snap.history:
            variational = form.model_traits(job.model_config.kind).variational
            fig = _figure(job, "curves", len(snap.history), lambda: charts.live_chart(charts.training_curves(
                [r.to_dict() for r in snap.history], variational=variational)))
            st.plotly_chart(fig, key="training_curves", config={"displaylogo": False})
            if job.model_config.m1 is not None:
                st.caption("M1+M2: -ELBO and reconstruction are nats per M1 code, not per image.")
            for label, value, help_text in form.last_metrics(snap.history, variational):
                st.metric(label, value, help=help_text)
        else:
            st.caption("The loss curves appear after the first epoch.")



def train_page() -> None:
    st.title("Train a model")
    job: tj.TrainingJob | None = st.session_state[session.TRAINING_JOB_KEY]
    running = job is not None and not job.done
    m0, t0 = form.DEFAULT_MODEL_CONFIG, form.DEFAULT_TRAIN_CONFIG

    refusal = st.empty()  # above the settings: the open form fills a 768 px screen
    with st.expander("Settings", expanded=job is None):
        # outside the form: the choice shows only the settings that apply to it
        # M2's "Reads" (VAE names) needs a wider last column; the model choice keeps its rows at 1366 px
        m2_chosen = form.model_traits(st.session_state.get("train_kind", next(iter(KINDS)))).semi_supervised
        kind_col, net_col, hidden_col, noise_col = st.columns([3.8, 1.3, 0.9, 1.4] if m2_chosen else [4, 1.5, 0.9, 1])
        kind = kind_col.radio("Model", list(KINDS), format_func=KINDS.__getitem__, key="train_kind",
                              horizontal=True, help=MODEL_HELP)
        traits = form.model_traits(kind)
        linear, m1 = traits.linear, None
        noise, noise_level = "none", t0.noise_level
        if traits.semi_supervised:  # M2: what it reads (pixels, or an M1 VAE's codes) instead of input noise
            m1_options = {PIXELS: "pixels (M2)", **registry.model_labels(registry.vae_file_options())}
            if st.session_state.get("train_m1") not in m1_options:  # first time, or its file has gone
                st.session_state["train_m1"] = PIXELS
            reads = noise_col.selectbox("Reads", list(m1_options), format_func=m1_options.__getitem__,
                                        key="train_m1", help=M1_HELP)
            m1 = None if reads == PIXELS else reads.removeprefix(registry.FILE_PREFIX)
        else:
            noise = noise_col.selectbox(
                "Input noise", list(form.NOISE_LABELS), format_func=form.NOISE_LABELS.__getitem__,
                key="train_noise",
                help="A denoising autoencoder (Vincent et al. 2008): the encoder sees a corrupted image, the loss "
                     "compares the reconstruction with the clean one. Masking sets each pixel to 0 with the "
                     "probability set below; Gaussian adds noise of that std and clips to [0, 1].")
        architecture, hidden, beta, likelihood = "mlp", "", m0.beta, m0.likelihood
        labels, alpha_fraction, code_std = None, t0.alpha_fraction, form.M1_CODE_STD
        if not linear:  # outside the form (its fields commit only on Train): the widths follow the network at once
            # what the choice says now, before it changes: _follow_network's "from" (a choice that was not
            # drawn last run, for a linear AE, has lost its state and starts at the MLP again, as does the field)
            st.session_state[HIDDEN_NETWORK_KEY] = st.session_state.get("train_architecture", ARCHITECTURES[0])
            if m1 is None:  # M1+M2 reads a code vector: fully connected only
                architecture = net_col.selectbox(
                    "Network", list(ARCHITECTURE_LABELS), format_func=ARCHITECTURE_LABELS.__getitem__,
                    key="train_architecture", on_change=_follow_network, help=NETWORK_HELP)
            # The network's widths are the field's value= default, never written to its key before its first
            # drawing: a run that sets a widget's value tells the browser so once, and the next run does
            # not; a window's size-class rerun (explorer/ui/components/viewport.py) that came before the browser had
            # drawn the field then left it at the element's default, empty. Only _follow_network writes the
            # key (and in that run the default is left out: Streamlit warns of a value set both ways).
            followed = st.session_state.pop(HIDDEN_FOLLOWED_KEY, False)
            hidden = hidden_col.text_input(
                "Hidden sizes", value=None if followed else _DEFAULT_WIDTHS[st.session_state[HIDDEN_NETWORK_KEY]],
                key="train_hidden", help=HIDDEN_HELP) or ""
        contraction, contraction_noise = m0.contraction, m0.contraction_noise
        with st.form(key="train_settings", border=False):
            c1, c2, c3 = st.columns(3)
            latent_dim = c1.number_input(
                "Latent dimension", min_value=1, max_value=64, value=m0.latent_dim, key="train_latent_dim",
                help="More than 2: the map shows the first two principal components of mu.")
            if linear:
                c1.caption(LINEAR_AE_NOTE)
            elif m1 is not None:
                code_std = c3.number_input("Code std (M1+M2)", min_value=0.01, max_value=10.0, value=form.M1_CODE_STD,
                                           step=0.1, format="%.3g", key="train_code_std", help=CODE_STD_HELP)
            else:
                likelihood = c3.selectbox(
                    "Decoder p(x|z)", list(form.LIKELIHOOD_LABELS), format_func=form.LIKELIHOOD_LABELS.__getitem__,
                    key="train_likelihood",
                    help="How the reconstruction is scored, in nats: Bernoulli treats each pixel's grey value as "
                         "the probability of ink (binary cross-entropy); Gaussian uses squared error (std 0.1).")
            if traits.semi_supervised:
                labels = c1.selectbox("Known labels", form.LABEL_CHOICES, key="train_labels", help=LABELS_HELP,
                                      format_func=lambda n: f"{n:,} ({n // 10} per digit)")
                alpha_fraction = c1.number_input("alpha / N", min_value=0.0, max_value=100.0,
                                                 value=t0.alpha_fraction, step=0.05, format="%.3g",
                                                 key="train_alpha", help=ALPHA_HELP)
            elif traits.variational:
                beta = c1.number_input("beta (KL weight)", min_value=0.0, value=m0.beta, step=0.5, key="train_beta",
                                       help="Loss = reconstruction + beta * KL; beta = 1 is the true -ELBO, "
                                            "beta > 1 a beta-VAE (Higgins et al. 2017).")
            if traits.contractive:
                contraction = c1.number_input(
                    "lambda (contraction weight)", min_value=0.0, value=m0.contraction, step=0.01, format="%.4g",
                    key="train_contraction",
                    help="Loss = reconstruction + lambda * penalty (Rifai et al. 2011). CAE: the penalty is "
                         "||J_h(x)||_F^2, the sum of the squared derivatives of every code value with respect "
                         "to every pixel; SCAE: ||h(x) - h(x~)||^2 for a noisy copy x~. 0 is a plain AE.")
                if traits.contraction_noise:
                    contraction_noise = c1.number_input(
                        "SCAE noise sigma", min_value=0.001, max_value=1.0, value=m0.contraction_noise, step=0.05,
                        format="%.3g", key="train_contraction_noise",
                        help="Standard deviation of the Gaussian noise added to each pixel (pixels in [0, 1]) to "
                             "make the copy x~ = x + sigma * eps whose code is compared with x's.")
            epochs = c2.number_input("Epochs", min_value=1, max_value=500, value=t0.epochs, key="train_epochs")
            batch_size = c2.number_input("Batch size", min_value=1, max_value=60_000, value=t0.batch_size,
                                         key="train_batch_size")
            lr = c2.number_input("Learning rate", min_value=0.0, value=t0.lr, step=1e-4, format="%.5g",
                                 key="train_lr")
            # beside the learning rate, in the first column: three rows of fields, the Train button on a 768 px screen
            schedule = c1.selectbox("Learning-rate schedule", ["cosine", "constant"],
                                    index=["cosine", "constant"].index(t0.lr_schedule), key="train_schedule")
            seed = c3.number_input("Seed", min_value=0, value=t0.seed, key="train_seed")
            subset = c3.number_input("Training images (0 = all 60,000)", min_value=0, max_value=60_000,
                                     value=0, step=1000, key="train_subset",
                                     help="A few thousand give a quick demo.")
            if noise != "none":  # the level only where there is noise
                noise_level = c3.number_input(
                    "Noise level", min_value=0.0, max_value=1.0, value=t0.noise_level, step=0.1,
                    key="train_noise_level",
                    help="Masking: the share of pixels set to 0. Gaussian: the noise's standard deviation "
                         "(pixels in [0, 1]).")
            start = st.form_submit_button("Train", type="primary", disabled=running, key="start_training")

    if start:
        try:
            model_config, train_config = form.make_configs(
                kind=kind, latent_dim=latent_dim, hidden_sizes=hidden, beta=beta, epochs=epochs,
                batch_size=batch_size, lr=lr, lr_schedule=schedule, seed=seed, subset=subset,
                architecture=architecture, likelihood=likelihood, input_noise=noise, noise_level=noise_level,
                contraction=contraction, contraction_noise=contraction_noise, labels=labels,
                alpha_fraction=alpha_fraction, m1=m1, code_std=code_std)
        except ValueError as exc:
            refusal.error(f"Cannot train with these settings: {exc}")
        else:
            train_images, train_labels, dataset = caches.train_split()
            test_images, test_labels = caches.mnist_test_split()
            st.session_state[session.TRAINING_JOB_KEY] = tj.TrainingJob(
                model_config, train_config, train_images, test_images, test_labels, dataset,
                train_labels=train_labels).start()
            st.rerun()

    if job is not None:
        live = not job.done
        st.fragment(_live_view, run_every=LIVE_REFRESH_SECONDS if live else None)(job, live)

    if job is not None and job.done:
        snap = job.snapshot()
        if snap.state == "finished":
            st.success(f"Training finished after {len(snap.history)} epochs in "
                       f"{form.format_seconds(snap.elapsed)}.")
        elif snap.state == "stopped":
            st.warning(snap.message)
        else:
            st.error(snap.message)
        if snap.checkpoint is not None:
            name = job.session_model_name or snap.name
            if form.model_traits(job.model_config.kind).semi_supervised:
                st.info(f"The model **{name}** is in the Semi-supervised (M2) page's model choice (the map pages "
                        "draw one code per image and leave M2 out).")
            else:
                st.info(f"The model **{name}** is in the sidebar's model choice on every page.")
            save_col, download_col = st.columns([3, 1], vertical_alignment="bottom")
            # the field's value is dropped while another page runs: offer the name again
            st.session_state.setdefault(session.SAVE_NAME_KEY, f"{name}.safetensors")
            file_name = save_col.text_input("Save into checkpoints/ as", key=session.SAVE_NAME_KEY)
            if save_col.button("Save", key="save_checkpoint", icon=":material/save:"):
                try:
                    path = registry.save_to_checkpoints(file_name, snap.checkpoint)
                except FileExistsError:
                    st.error(f"checkpoints/{file_name} already exists and was not overwritten: "
                             "choose another name.")
                except (ValueError, OSError) as exc:
                    st.error(f"Not saved: {exc}")
                else:
                    st.success(f"Saved {path.name} in checkpoints/ (it is listed in the model choice).")
            download_col.download_button("Download checkpoint", job.checkpoint_bytes(),
                                         file_name=f"{snap.name}.safetensors", mime="application/octet-stream",
                                         key="download_checkpoint", icon=":material/download:")

    st.caption(  # under the settings and the live view (the page's key views): they fit a 768 px screen
        "Trains on the MNIST training split in the background while this page shows the "
        "progress and the latent space of 2,000 fixed test digits after every epoch. "
        "The result appears in the sidebar's model choice on every page (an M2 in the Semi-supervised page's)."
    )
    st.divider()
    st.subheader("Use a checkpoint file")
    upload = st.file_uploader("Upload a checkpoint saved by this app", type=["safetensors", "pt"],
                              key="upload_checkpoint",
                              help="A .safetensors file saved or downloaded here, or a .pt file from an "
                                   "earlier version. It is checked (format, sizes, types, checksums, its outputs on real "
                                   "test digits) and nothing in it is run; its metrics are recomputed on "
                                   "the test set.")
    if upload is not None:
        try:
            before = dict(st.session_state[session.UPLOADED_FILE_IDS_KEY])
            name = registry.add_uploaded_checkpoint(upload.file_id, upload.name, upload.getvalue())
        except registry.CheckpointError as exc:
            st.error(f"This file cannot be used: {exc}")
        else:
            if upload.file_id not in before:
                st.rerun()  # so the sidebar offers (and shows) the uploaded model
            checkpoint = st.session_state[session.SESSION_MODELS_KEY][name].checkpoint
            st.success(f"{upload.name} passed the checks: it is in the model choice as **{name}**. "
                       + checkpoint.provenance)


require_router()
train_page()
