"""Every shipped checkpoint, chosen in the sidebar, runs every page of the app.

New checkpoints appear in the sidebar's model list as soon as they land in checkpoints/,
so a model kind a page was not written for (a conditional VAE, a 10-D latent space, a
denoising AE) must get a page that works or says in words why it cannot; never a
traceback.
"""

import re

import pytest

from tests.helpers.paths import REPO

from explorer.core.semi_supervised import is_semi_supervised_file

SHIPPED_FILES = sorted(p for p in (REPO / "checkpoints").iterdir()
                       if p.suffix in (".pt", ".safetensors") and "classifier" not in p.name)
#: What the sidebar offers: M2 / M1+M2 files only to the Semi-supervised page (by content).
CHECKPOINTS = [p.name for p in SHIPPED_FILES if not is_semi_supervised_file(p)]
SEMI_SUPERVISED = [p.name for p in SHIPPED_FILES if is_semi_supervised_file(p)]
PAGES = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (REPO / "app.py").read_text())


def test_the_app_lists_pages_and_ships_the_family():
    assert "pages/explorer.py" in PAGES and len(PAGES) >= 5
    for name in ("mnist_vae_z2.safetensors", "mnist_ae_z2.safetensors", "mnist_cvae_z2.safetensors",
                 "mnist_dae_z2.safetensors", "mnist_vae_z10.safetensors"):
        assert name in CHECKPOINTS


def test_the_sidebar_never_offers_the_semi_supervised_model_and_every_page_runs_beside_it(app_test):
    """The M1+M2 file lies in checkpoints/ beside the others; the sidebar's choice (which the
    map pages draw) leaves it out by its content, and every page still runs."""
    assert SEMI_SUPERVISED == ["mnist_m1m2_l100.safetensors", "mnist_m1m2_z2_l100.safetensors"]
    at = app_test()
    at.run()
    options = at.sidebar.selectbox(key="model_choice").options
    assert not [o for o in options if o.rsplit("/", 1)[-1] in SEMI_SUPERVISED] and len(options) == len(CHECKPOINTS)
    for page in PAGES:
        if page != "pages/train.py":
            at.switch_page(page).run()
            assert not at.exception, (page, [e.message for e in at.exception])


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_every_page_runs_with_every_shipped_checkpoint(app_test, checkpoint):
    at = app_test()
    at.run()
    at.sidebar.selectbox(key="model_choice").set_value(f"file:{REPO / 'checkpoints' / checkpoint}").run()
    assert not at.exception, at.exception
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    for page in PAGES:
        if page == "pages/train.py":
            continue  # the form does not depend on the chosen model; covered by test_train_page
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])


def test_the_apps_remake_commands_are_the_ones_checkpoints_readme_lists():
    """A missing file is reported with the command that makes it (explorer/ui/state/shipped.py):
    the same flags as the README's table (legacy .pt files are remade as .safetensors)."""
    from explorer.ui.state.shipped import COMMANDS

    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \|[^|]*\| `([^`]+)` \|",
                                                         (REPO / "checkpoints" / "README.md").read_text(), re.M)}
    assert set(COMMANDS) == set(rows)

    def flags(command: str) -> dict[str, str]:
        words = command.replace(".pt", ".safetensors").split()
        return {w: words[i + 1] for i, w in enumerate(words) if w.startswith("--")}

    for name, command in COMMANDS.items():
        assert command.startswith("python -m explorer.cli.train ") and flags(command) == flags(rows[name]), name
