"""Watch the holes form (Compare page): an AE and a VAE trained at once from the same
initial weights on the same batches, both maps redrawn live side by side, Stop, and the
two results offered as the page's pair.

The job (:class:`explorer.ui.jobs.twin_job.TwinJob`) lives in ``cmp_twin_job``; its settings
in ``cmp_twin_subset``, ``cmp_twin_epochs``, ``cmp_twin_seed``
(:data:`explorer.ui.state.session.COMPARE_DEFAULTS`).
"""

from __future__ import annotations

import streamlit as st

from explorer.core.config import TrainConfig
from explorer.ui import figures
from explorer.ui.figures import map_figure
from explorer.ui.state import caches, registry
from explorer.ui.jobs import twin_job as tj
from explorer.ui.jobs.session_watch import WATCHDOG, current_session_id
from explorer.ui.jobs.training_queue import waiting_text
from explorer.ui.jobs.train_form import format_seconds

JOB_KEY = "cmp_twin_job"
LIVE_REFRESH_SECONDS = 1.5
MAP_HEIGHT = 380
FONT_SIZE = 15
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
NAMES = ("AE: codes z", "VAE: posterior means mu")
#: What the settings say of a run's duration: it scales with images x epochs; no fixed
#: figure (``python -m bench.twins`` measured 37-39 s for the defaults at a load average of
#: 6-9 and 129-165 s at 14-17 on the 2-core server): the progress bar estimates the rest.
RUN_TIME = "the run's time grows with images x epochs; the progress bar estimates what is left"
#: The share of the run done before the time left is estimated (its first steps are slower).
ESTIMATE_AFTER = 0.05


def adopt_finished_twins() -> None:
    """Offer a finished run's two models in this session's model choice, once (call on
    every Compare run, before the model choice is drawn)."""
    job: tj.TwinJob | None = st.session_state[JOB_KEY]
    if job is None or not job.done or job.session_names is not None:
        return
    checkpoints = job.snapshot().checkpoints
    if checkpoints is None:  # diverged or failed
        return
    names = [registry.add_session_model(name, c) for name, c in zip(tj.run_names(job), checkpoints)]
    job.session_names = (names[0], names[1])


def _start() -> None:
    train_images, _, dataset = caches.train_split()
    test_images, test_labels = caches.mnist_test_split()
    state = st.session_state
    config = TrainConfig(epochs=int(state["cmp_twin_epochs"]), batch_size=BATCH_SIZE, lr=LEARNING_RATE,
                         lr_schedule="cosine", seed=int(state["cmp_twin_seed"]),
                         subset=int(state["cmp_twin_subset"]))
    job = tj.TwinJob(config, train_images, test_images, test_labels, dataset).start()
    state[JOB_KEY] = job
    session_id = current_session_id()
    if session_id is not None:  # a closed tab stops the run (see explorer.ui.jobs.session_watch)
        WATCHDOG.watch(job, session_id)


def _use_twins() -> None:
    """Make the two results the page's pair (a callback: runs before the choices are drawn)."""
    names = st.session_state[JOB_KEY].session_names
    st.session_state["cmp_model_a"] = f"{registry.SESSION_PREFIX}{names[0]}"
    st.session_state["cmp_model_b"] = f"{registry.SESSION_PREFIX}{names[1]}"


def time_text(elapsed: float | None, fraction: float) -> str:
    """"elapsed 0:12, about 0:30 left": the time left estimated from the run's own pace
    (elapsed / fraction done), once :data:`ESTIMATE_AFTER` of it is done; before that the
    elapsed time alone."""
    text = f"elapsed {format_seconds(elapsed)}"
    if elapsed is not None and ESTIMATE_AFTER <= fraction < 1:
        text += f", about {format_seconds(elapsed * (1 - fraction) / fraction)} left"
    return text


def _live_view(job: tj.TwinJob, live: bool, map_height: int = MAP_HEIGHT) -> None:
    snap = job.snapshot()
    if live and snap.state in tj.DONE_STATES:
        st.rerun()  # whole app: the results join the model choice, the outcome shows
    if snap.state == "queued":
        text = waiting_text(snap.queue_position, job.queue.limit)
    elif snap.num_steps:
        text = f"Epoch {snap.epoch}/{snap.epochs}, step {snap.step}/{snap.num_steps}"
    else:
        text = "Starting..."
    st.progress(snap.fraction, text=f"{text}  ·  {time_text(snap.elapsed, snap.fraction)}")
    if live:
        st.button("Stop", key="cmp_twin_stop", icon=":material/stop:", on_click=job.stop,
                  help="End training now; both models keep the weights they have.")
        # Always present, so the columns below keep their place in the fragment's layout
        # when "Stopping..." appears (see the Train page's live view).
        stopping = st.empty()
        if job.stopping:
            stopping.caption("Stopping...")
    for i, column in enumerate(st.columns(2)):
        with column, st.container(key=f"cmp_twin_map_{i}"):
            if snap.codes is None:
                st.caption("Encoding the first codes...")
                continue
            # SVG: redrawn every refresh, a WebGL map would take a new context each time
            fig = figures.as_svg(map_figure.latent_map(snap.codes[i], snap.sample_labels, prior_circles=True,
                                                       font_size=FONT_SIZE))
            fig.update_layout(height=map_height, showlegend=False, title=f"{NAMES[i]}, step {snap.step}",
                              margin={"l": 50, "r": 10, "t": 40, "b": 45})
            st.plotly_chart(fig, key=f"cmp_twin_chart_{i}", config={"displaylogo": False, "displayModeBar": False})
            loss = "--" if snap.losses is None else f"{snap.losses[i]:.1f}"
            st.caption(f"Training loss: {loss} nats per image ("
                       + ("reconstruction only)" if i == 0 else "reconstruction + KL, the -ELBO)"))


def twin_panel(intro: bool = True, map_height: int = MAP_HEIGHT) -> None:
    """Settings, Start, the live maps with Stop, then the outcome and a button that makes
    the two results the page's pair. ``intro`` False leaves out the caption that explains
    the run (the lesson step's text does), ``map_height`` the live maps' height in px."""
    job: tj.TwinJob | None = st.session_state[JOB_KEY]
    running = job is not None and not job.done
    if intro:
        st.caption("Trains a new AE and a new VAE at once: built from the same seed with the same initial weights "
                   "(the VAE's extra sigma output aside), fed the same batches in the same order. Only the loss "
                   "differs, so the two maps show what the VAE's KL term does: watch the AE's codes spread out "
                   f"and leave holes while the VAE's stay packed inside the prior's circles. {tj.SAMPLE_SIZE:,} "
                   "test digits, redrawn as training runs.")
    subset_col, epochs_col, seed_col, start_col = st.columns([1.2, 1, 1, 1], vertical_alignment="bottom")
    subset_col.number_input("Training images", 500, 60_000, step=1000, key="cmp_twin_subset", disabled=running,
                            help=f"A random subset of the 60,000 MNIST training images ({RUN_TIME}).")
    epochs_col.number_input("Epochs", 1, 100, key="cmp_twin_epochs", disabled=running,
                            help="Passes over the training images.")
    seed_col.number_input("Seed", 0, 2**31 - 1, key="cmp_twin_seed", disabled=running,
                          help="Seeds the shared initial weights, the subset and the order of the batches.")
    start_col.button("Train both", key="cmp_twin_start", type="primary", on_click=_start, disabled=running,
                     icon=":material/play_arrow:",
                     help=f"Adam, learning rate {LEARNING_RATE:g} with a cosine schedule, batches of {BATCH_SIZE}; "
                          "the same settings for both models.")
    if job is None:
        return
    live = not job.done
    st.fragment(_live_view, run_every=LIVE_REFRESH_SECONDS if live else None)(job, live, map_height)
    if live:
        return
    snap = job.snapshot()
    if snap.state == "finished":
        st.success(f"Both models trained in {format_seconds(snap.elapsed)}.")
    elif snap.state == "stopped":
        st.warning(snap.message)
    else:
        st.error(snap.message)
    if job.session_names is not None:
        st.button("Show these two on the Compare maps", key="cmp_twin_use", on_click=_use_twins,
                  icon=":material/compare:",
                  help=f"Left: {job.session_names[0]}, right: {job.session_names[1]}; both stay in the model "
                       "choices for this browser session.")
