"""The guided lesson on the Compare page (its text and buttons above the maps): seven steps (the AE's map, sampling its prior,
the VAE's map, sampling its prior, interpolation in both, the reparameterization
cloud, watching an AE and a VAE train side by side) with Back/Next, and the page's
state in the URL so a link restores the view.

URL parameters (all optional): ``step`` (1-7), ``left`` and ``right`` (model names as
listed, e.g. ``mnist_ae_z2.safetensors``), ``digit`` (selected test digit), ``start`` and
``end`` (interpolation ends), ``seed`` (prior-sample seed; present when samples show).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer.ui.figures import map_clicks
from explorer.ui.page import layout
from explorer.ui.state import caches, registry
from explorer.ui.state.session import COMPARE_PREFIXES

TOOLS = ("Sample from the prior", "Interpolate", "Reparameterization", "Where the holes are", "Your own digit",
         "Watch the holes form")
#: Path ends the lesson uses when none are chosen: the first test "1" and the first "7".
DEFAULT_PATH_LABELS = (1, 7)
#: What the step says of the twin run's duration: no fixed promise (a busy server took 1:41
#: for a run promised as about 40 s); the progress bar estimates the rest from the run itself.
TWIN_RUN_TIME = "The bar estimates the time left from the run's own pace."


@dataclass(frozen=True)
class Step:
    """One step of the lesson.

    Attributes:
        title: its heading.
        text: two or three sentences for the class.
        samples: prior samples are shown on this step.
        tool: the tab below the maps a link to this step opens.
        needs_path: the step sets interpolation ends if none are set.
        needs_digit: the step selects a digit if none is selected.
        highdim: the step shows the shipped z = 10 AE and VAE above the maps
            (:mod:`explorer.ui.views.highdim`); its claims are measured on them.
        focus: keys of the containers the step's "Look at" names, outlined on screen with
            a "Look here" tag (:func:`explorer.ui.views.lesson_marks.focus_marks`); a key
            not on screen is ignored.
        marks: what the step points at on the maps
            (:func:`explorer.ui.views.lesson_marks.map_annotations`): "gap" (an
            empty stretch between the left map's clusters and its axes' span), "circle"
            (the right map's prior 3-sigma circle), "path" (the middle of each map's path),
            "samples" (where the left map's samples lie).
    """

    title: str
    text: str
    samples: bool = False
    tool: str = TOOLS[0]
    needs_path: bool = False
    needs_digit: bool = False
    highdim: bool = False
    focus: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()


#: Each step's words, with its measured sentences (:mod:`explorer.core.lesson_claims`), fit
#: the box above the maps on a 1366x768 screen without scrolling: keep them short.
STEPS = (
    Step("The AE's map", "Left: the plain autoencoder's code z of each of the 10,000 test digits (grey circles at "
         "0: the prior N(0, I) a VAE follows). **Look at** the axes' ranges and the empty space between the "
         "clusters.", focus=("cmp_a_map_panel",), marks=("gap",)),
    Step("Sample the AE's prior", "16 codes z ~ N(0, I) (the crosses on both maps), decoded by both models "
         "between the maps; the Sample tab below has more. **Look at** which digits the AE's samples give.",
         samples=True, focus=("cmp_a_prior_preview",), marks=("samples",)),
    Step("The VAE's map", "Right: the VAE's posterior means mu. **Look at** its axes: the codes sit inside the "
         "prior's circles.", focus=("cmp_b_map_panel",), marks=("circle",)),
    Step("Sample the VAE's prior", "The same 16 codes, decoded by the VAE (the lower images between the maps). "
         "**Look at** how many different digits appear; \"New sample\" draws again.", samples=True,
         focus=("cmp_b_prior_preview",)),
    Step("Interpolate in both", "The straight line between two digits' codes, decoded in 10 steps by each model "
         "(red paths on the maps, strips between them, each step marked real or not). **Look at** the middle "
         "of each strip.", tool=TOOLS[1], needs_path=True,
         focus=("cmp_a_path_preview", "cmp_b_path_preview"), marks=("path",)),
    Step("The reparameterization cloud", "Between the maps, zoomed in: the selected digit's posterior, K draws "
         "z = mu + sigma * eps with eps ~ N(0, I), and their decodings. **Look at** the decoded draws.",
         tool=TOOLS[2], needs_digit=True, focus=("cmp_a_cloud_images", "cmp_b_cloud_images")),
    Step("Watch the holes form", "Press \"Train both\": a new AE and a new VAE start from the same weights and "
         "see the same batches; only the loss differs (the VAE's adds the KL term). **Look at** how far each "
         f"model's codes spread (the axes' ranges) as they train. {TWIN_RUN_TIME}", tool=TOOLS[5],
         focus=("cmp_twin_start", "cmp_twin_map_0", "cmp_twin_map_1")),
    Step("Ten dimensions", "Above: an AE and a VAE with z = 10 (same network and recipe), sampled from a Gaussian "
         "(the VAE's prior; for the AE one fitted to its codes) and along a path. **Look at** the shares judged "
         "real and the path marks.", highdim=True,
         focus=("cmp_highdim_share_AE", "cmp_highdim_share_VAE", "cmp_highdim_marks_AE", "cmp_highdim_marks_VAE")),
)


def _select_digit(index: int | None) -> None:
    """Select test digit ``index`` on both maps (before the page draws them)."""
    for prefix in COMPARE_PREFIXES:
        st.session_state[f"{prefix}last_click"] = None if index is None else map_clicks.PointClick(int(index))
    st.session_state["cmp_selected"] = index


def _first_of_label(label: int) -> int:
    labels = caches.mnist_test_split()[1]
    return int((labels == label).nonzero()[0, 0])


def go_to_step(step: int | None, open_tool: bool = False) -> None:
    """Enter lesson step ``step`` (0-based; None ends the lesson): show or hide the prior
    samples, set path ends or a selected digit where it needs one, and (``open_tool``,
    when a link is opened) open the step's tab.

    Back/Next leave the tab alone: the page shows each step's key view above the tabs,
    and a tab opened from code makes Streamlit scroll the page to the tab bar (its tabs
    scroll the active tab into view), which moved that key view off a 768 px screen."""
    st.session_state["cmp_lesson_step"] = step
    if step is None:
        return
    s = STEPS[step]
    st.session_state["cmp_prior_drawn"] = s.samples
    if open_tool:
        st.session_state["cmp_tool"] = s.tool
    if s.needs_digit and st.session_state["cmp_selected"] is None:
        _select_digit(st.session_state["cmp_path_end"] or _first_of_label(DEFAULT_PATH_LABELS[1]))
    # What an earlier step left and this one does not use goes (the prior samples above,
    # the path and the selected digit here): each step shows only what it talks about.
    if not s.needs_path:
        st.session_state["cmp_path_start"] = st.session_state["cmp_path_end"] = None
        st.session_state["cmp_path_next"] = "start"
    if not s.needs_digit:
        _select_digit(None)


def current_step() -> Step | None:
    """The lesson step on screen, or None when the lesson is off."""
    step = st.session_state["cmp_lesson_step"]
    return None if step is None else STEPS[step]


def lesson_start_button() -> None:
    """The button that starts the lesson (key ``cmp_lesson_start``), in the sidebar."""
    st.sidebar.button("Start the guided lesson", key="cmp_lesson_start", on_click=go_to_step, args=(0,),
                      help=f"{len(STEPS)} steps through the AE's and the VAE's maps; the address bar keeps the "
                           "step, so the link can be shared.")


#: The lesson's box shows all of a step's words and numbers, never a scroll bar: short
#: sentences, the buttons in a narrow column, less air between the lines (Streamlit puts
#: 1rem between elements and pads a bordered box by 1rem).
LESSON_CSS = """<style>
.st-key-cmp_lesson { padding: 0.5rem 0.75rem; }
.st-key-cmp_lesson [data-testid="stVerticalBlock"] { gap: 0.3rem; }
.st-key-cmp_lesson [data-testid="stMarkdownContainer"] { margin-bottom: 0; }
.st-key-cmp_lesson [data-testid="stMarkdownContainer"] p { margin-bottom: 0; }
</style>"""


def lesson_panel():
    """The lesson: outside it a start button in the sidebar; in it the step's heading and
    text with Back, Next and End, at the top of the page's main area (a container keyed
    ``cmp_lesson``), above the maps, so a 1366x768 screen shows it without scrolling.
    The step's words come from :data:`STEPS`.

    Returns:
        An empty container below the step's text for :func:`show_claims` (the claims
        need the models, known later in the page run), or None when the lesson is off.
    """
    step = st.session_state["cmp_lesson_step"]
    if step is None:
        with st.sidebar:
            st.divider()
        lesson_start_button()
        return None
    s = STEPS[step]
    st.html(LESSON_CSS)
    with st.container(key="cmp_lesson", border=True):
        text, buttons = st.columns([5, 1.1], vertical_alignment="center", gap="small")
        with text:
            st.markdown(f"**Lesson {step + 1}/{len(STEPS)}: {s.title}.** {s.text}",
                        help="The address bar holds this view (step, models, digits, seed): copy it to share it.")
            slot = st.container(key="cmp_lesson_claims")
        with buttons:
            back, forward = st.columns(2, gap="small")
            back.button("Back", key="cmp_lesson_back", on_click=go_to_step, args=(step - 1,), disabled=step == 0,
                        width="stretch")
            forward.button("Next", key="cmp_lesson_next", on_click=go_to_step, args=(step + 1,),
                           disabled=step == len(STEPS) - 1, width="stretch", type="primary")
            st.button("End the lesson", key="cmp_lesson_end", on_click=go_to_step, args=(None,), width="stretch")
    return slot


CLAIMS_HELP = ("Measured on the two models on screen (their test codes, 500 samples per way of sampling, 40 "
               "random paths, 30 posterior clouds; images judged by the validated real-digit judge, see the "
               "holes tab). The sentence is what the number says: it changes when the number does not meet "
               "the condition. Condition: {condition}.")


def pair_facts(views) -> tuple | None:
    """Both views' :class:`explorer.core.lesson_claims.ModelFacts` (cached per model), or
    None when a model is conditional (its decoder needs a label)."""
    if any(v.model.is_conditional for v in views):
        return None
    return tuple(caches.lesson_facts(v.entry) for v in views)


def fill_measured_path(views) -> None:
    """On a step that needs a path with none set: the ends the measure picks (the pair of
    test digits whose left path has the most images judged not real beyond the right's)."""
    from explorer.core.lesson_claims import best_path_ends

    s = current_step()
    if s is None or not s.needs_path or (st.session_state["cmp_path_start"] is not None
                                          and st.session_state["cmp_path_end"] is not None):
        return
    facts = pair_facts(views)
    ends = best_path_ends(*facts) if facts is not None else tuple(map(_first_of_label, DEFAULT_PATH_LABELS))
    st.session_state["cmp_path_start"], st.session_state["cmp_path_end"] = ends
    st.session_state["cmp_path_next"] = "start"


def show_claims(slot, views) -> None:
    """The step's sentences, each with its number measured on the two models on screen
    (:mod:`explorer.core.lesson_claims`), in ``slot`` (from :func:`lesson_panel`)."""
    from explorer.core.classifier import ClassifierFileError
    from explorer.core.lesson_claims import evaluate_claims

    step = st.session_state["cmp_lesson_step"]
    if slot is None or step is None:
        return
    with slot:
        try:
            if STEPS[step].highdim:
                from explorer.ui.views.highdim import highdim_entries, highdim_facts

                entries = highdim_entries()
                facts = None if entries is None else highdim_facts(entries)
            else:
                facts = pair_facts(views)
        except ClassifierFileError as exc:
            st.warning(f"The lesson's numbers need the digit classifier, which could not be loaded: {exc}. "
                       "Restore checkpoints/mnist_classifier.safetensors (git checkout).")
            return
        if facts is None:
            st.caption("The lesson's numbers are measured on unconditional models; pick two of them above.")
            return
        for result in evaluate_claims(*facts, steps={step}):
            mark = ":material/straighten:" if result.holds else ":orange[:material/warning:]"
            st.markdown(f"{mark} {result.text}", help=CLAIMS_HELP.format(condition=result.condition))


def _int(params, name: str, low: int, high: int) -> int | None:
    try:
        value = int(params[name])
    except (KeyError, ValueError):
        return None
    return value if low <= value <= high else None


def apply_url_state() -> None:
    """Restore the view from the URL, once per session (before any Compare widget is
    drawn). Unknown models and out-of-range numbers are ignored."""
    if st.session_state.get("cmp_url_applied"):
        return
    params = st.query_params
    if not params:
        st.session_state["cmp_url_applied"] = True
        return
    by_label = {label: value for value, label in registry.model_options().items()}
    for name, key in (("left", "cmp_model_a"), ("right", "cmp_model_b")):
        if params.get(name) in by_label:
            st.session_state[key] = by_label[params[name]]
    last = len(caches.mnist_test_split()[1]) - 1
    seed = _int(params, "seed", 0, 2**31 - 1)
    step = _int(params, "step", 1, len(STEPS))
    if step is not None:  # first: entering a step clears what it does not use; the link's own state follows
        go_to_step(step - 1, open_tool=True)
    for name, key in (("start", "cmp_path_start"), ("end", "cmp_path_end")):
        value = _int(params, name, 0, last)
        if value is not None:
            st.session_state[key] = value
    if seed is not None:
        st.session_state["cmp_prior_seed"], st.session_state["cmp_prior_drawn"] = seed, True
    digit = _int(params, "digit", 0, last)
    if digit is not None:
        _select_digit(digit)
    # marked last: a run stopped on the way (a rerun asked for while MNIST loads, such as
    # the window's size class arriving) applies the link again on the next run
    st.session_state["cmp_url_applied"] = True


def write_url_state(labels: tuple[str, str]) -> None:
    """Put the view into the URL (at the end of the page run)."""
    state = st.session_state
    params = {"left": labels[0], "right": labels[1]}
    if state["cmp_lesson_step"] is not None:
        params["step"] = str(state["cmp_lesson_step"] + 1)
    for name, key in (("digit", "cmp_selected"), ("start", "cmp_path_start"), ("end", "cmp_path_end")):
        if state[key] is not None:
            params[name] = str(state[key])
    if state["cmp_prior_drawn"]:
        params["seed"] = str(state["cmp_prior_seed"])
    if layout.presenting():
        params[layout.PRESENT_PARAM] = "1"
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
