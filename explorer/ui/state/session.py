"""The one place that sets session-state defaults (app-wide keys and each view's keys).

App-wide keys are constants here; a view's keys are its prefix plus a name (see
:class:`explorer.ui.views.common.ViewKeys`), and :func:`init_view_state` gives them
their defaults, so two views with different prefixes never share state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from explorer.core.checkpoints import Checkpoint
    from explorer.core.models import Autoencoder

MODEL_CHOICE_KEY = "model_choice"  # the sidebar's selectbox
SESSION_MODELS_KEY = "session_models"  # name -> SessionModel, models trained or uploaded in this session
PENDING_CHOICE_KEY = "pending_model_choice"  # choice value to apply on the next run
TRAINING_JOB_KEY = "training_job"  # this session's TrainingJob | None
UPLOADED_FILE_IDS_KEY = "uploaded_file_ids"  # upload file_id -> session-model name
REFUSED_UPLOADS_KEY = "refused_uploads"  # (upload file_id, SHA-256 of its bytes) -> why it was refused
SAVE_NAME_KEY = "save_name"  # the Train page's file-name field
SEEN_SELECTIONS_KEY = "seen_selections"  # chart key -> signature of the last selection acted on
BROWSER_TOKEN_KEY = "browser_token"  # this browser's token (cookie), see browser_store
BROWSER_RESTORED_KEY = "browser_restored"  # this browser's stored models and job were taken back
REPLICA_NOTICE_KEY = "replica_notice"  # the browser came from a server process that stopped (explorer.ui.state.replica)
ROUTED_KEY = "routed_by_app"  # app.py's router has run in this session (see require_router)
# widget key -> (its last value, (page, context) it was drawn in): Streamlit's documented way
# to keep a widget's value between pages, a copy under a key of one's own (see init_view_state)
SAVED_WIDGET_VALUES_KEY = "saved_widget_values"
PAGE_KEY = "current_page"  # the url path of the page this run shows (enter_page)


@dataclass(frozen=True)
class SessionModel:
    """A model trained or uploaded in this browser session: the one record of it
    (``st.session_state[SESSION_MODELS_KEY][name]``).

    Attributes:
        checkpoint: the loaded, validated checkpoint.
        uid: a unique id, in its cache key (:attr:`explorer.ui.state.model_entry.ModelEntry.key`):
            two sessions (or uploads) may use the same name.
        added: when it was added (seconds since the epoch), for its shown name.
    """

    checkpoint: Checkpoint
    uid: str
    added: float

    @property
    def model(self) -> Autoencoder:
        """The model (eval mode)."""
        return self.checkpoint.model


# The Compare page (two models side by side) and the Theory page that reads its selection.
COMPARE_PREFIXES = ("cmp_a_", "cmp_b_")  # the two views' key prefixes
COMPARE_DEFAULTS: dict[str, object] = {
    "cmp_model_a": None, "cmp_model_b": None,  # choice values (registry.model_options); None: the shipped AE / VAE
    "cmp_selected": None,  # index of the test digit selected on both maps, or None
    "cmp_prior_k": 16, "cmp_prior_seed": 0, "cmp_prior_drawn": False,  # prior samples: K, seed, shown
    "cmp_ae_sampler": "prior",  # how a model without a prior is sampled (explorer.core.sampling.SAMPLERS)
    "cmp_path_start": None, "cmp_path_end": None, "cmp_path_n": 10,  # interpolation: test-digit indices, steps
    "cmp_path_next": "start",  # which end of the path the next map click sets
    "cmp_cloud_k": 32, "cmp_eps_seed": 0,  # reparameterization cloud: draws, seed of eps
    "cmp_theory_source": None,  # {"choices": [a, b], "index": i}: what the Theory page plugs in
    "cmp_tool": "Sample from the prior",  # the open tab below the maps
    "cmp_lesson_step": None,  # the guided lesson's step (0-based), None when off
    "cmp_url_applied": False,  # the URL's state has been applied in this session
    # "Watch the holes form": this session's twin_job.TwinJob | None, and its settings
    "cmp_twin_job": None, "cmp_twin_subset": 10_000, "cmp_twin_epochs": 10, "cmp_twin_seed": 0,
}
#: The Compare page's URL path (app.py's st.Page("pages/compare.py")).
COMPARE_URL_PATH = "compare"
COMPARE_WIDGETS = ("cmp_model_a", "cmp_model_b", "cmp_prior_k", "cmp_ae_sampler", "cmp_path_start", "cmp_path_end", "cmp_path_n",
                   "cmp_cloud_k", "cmp_tool", "cmp_twin_subset", "cmp_twin_epochs", "cmp_twin_seed")


def init_session_state() -> None:
    """Set every app-wide session-state default, once per session (app.py calls it first)."""
    st.session_state[ROUTED_KEY] = True
    st.session_state.setdefault(SESSION_MODELS_KEY, {})
    st.session_state.setdefault(PENDING_CHOICE_KEY, None)
    st.session_state.setdefault(TRAINING_JOB_KEY, None)
    st.session_state.setdefault(UPLOADED_FILE_IDS_KEY, {})
    st.session_state.setdefault(REFUSED_UPLOADS_KEY, {})
    # A Plotly selection stays in session state across reruns; only a new one is acted on.
    st.session_state.setdefault(SEEN_SELECTIONS_KEY, {})
    st.session_state.setdefault(BROWSER_TOKEN_KEY, None)
    st.session_state.setdefault(BROWSER_RESTORED_KEY, False)
    st.session_state.setdefault(REPLICA_NOTICE_KEY, None)


def enter_page(page: str) -> None:
    """Record the page this run shows (app.py, after ``st.navigation``; widgets' values
    are carried between pages by :func:`init_view_state`), and keep the Compare page's
    widget values on pages that do not draw them (their model choices' options grow with
    this session's models)."""
    st.session_state[PAGE_KEY] = page
    init_view_state(COMPARE_DEFAULTS, COMPARE_WIDGETS, context=",".join(st.session_state[SESSION_MODELS_KEY]))
    if page != COMPARE_URL_PATH:  # a link into the Compare page (the home page's lesson start) is applied on arrival
        st.session_state["cmp_url_applied"] = False


def require_router() -> None:
    """Make sure this page runs inside app.py's router; every page file calls it first.

    With a ``pages/`` folder beside app.py, a freshly started Streamlit server is in its
    legacy multipage mode until app.py's first ``st.navigation`` call: if the first visit
    is a page URL (a shared lesson link such as ``/compare?step=3``), Streamlit runs that
    page file alone, without app.py, so the sidebar, the model choice and the session
    defaults are missing. Here that mode is switched off, as ``st.navigation`` itself
    does (``PagesManager.uses_pages_directory``, Streamlit-internal), and the run is
    repeated: app.py then routes the same URL, query parameters included, to this page.
    """
    if st.session_state.get(ROUTED_KEY):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


def init_view_state(defaults: Mapping[str, object], persistent: tuple[str, ...] = (), context: str = "") -> None:
    """Give a view's keys their defaults (once per session) and keep its widget values.

    The values are kept as Streamlit's guide to widgets in multipage apps says (save a
    widget's value in Session State under another key, write it back to the widget's key
    before the widget is drawn; docs.streamlit.io/develop/concepts/multipage-apps/widgets),
    writing back only when needed. Streamlit drops a widget's value at the end of a run that
    did not draw it, and a widget drawn on another page, or with other bounds or options,
    is a new element that starts from its default unless its key is written in that run.
    Each run saves the values present (:data:`SAVED_WIDGET_VALUES_KEY`) with the page and
    ``context`` they were drawn in, and writes a key only when it was dropped or the page or
    context changed; so sliders and grid settings carry over between pages that show the
    same view. Writing every run (the guide's shorter form) would send the value to the
    browser each time and undo a number being typed while a run (a tab switch) was under way.

    Args:
        defaults: full session key -> default value.
        persistent: widget keys whose values must survive a run of a page without that
            widget.
        context: what else the widgets' bounds and options depend on (the model's key
            for a model's view), "" for nothing.
    """
    where = (st.session_state.get(PAGE_KEY), context)
    saved = st.session_state.setdefault(SAVED_WIDGET_VALUES_KEY, {})
    for key in persistent:  # before the defaults, which would fill a dropped key with its default
        if key in st.session_state:
            value = st.session_state[key]
            if key not in saved or saved[key][1] != where:
                st.session_state[key] = value  # a new page or model: its widget is a new element
            saved[key] = (value, where)
        elif key in saved:  # dropped by a run that did not draw it
            st.session_state[key] = saved[key][0]
            saved[key] = (saved[key][0], where)
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
