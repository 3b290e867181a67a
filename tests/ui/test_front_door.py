"""The home page's front door (AppTest, no browser): one sentence on what the map is and
three starts, the lesson's start opening the Compare page on lesson step 1."""

from urllib.parse import parse_qsl


def _starts(at):
    return {link.value: link.proto for link in at.main.page_link}


def test_the_home_page_says_what_the_map_is_and_offers_three_starts(home):
    assert home.main.title[0].value == "Latent space explorer"
    assert any("The map shows where an autoencoder's encoder puts each of the 10,000 MNIST test digits" in m.value for m in home.main.markdown)
    starts = _starts(home)
    assert list(starts) == ["Run the lesson (AE vs VAE)", "Explore a model", "Train your own"]
    assert [p.page for p in starts.values()] == ["compare", "", "train"]  # "": the default page, this one
    assert dict(parse_qsl(starts["Run the lesson (AE vs VAE)"].query_string)) == {"step": "1"}
    assert starts["Explore a model"].query_string == "" and starts["Train your own"].query_string == ""


def _follow(at, link):
    """Do what the browser does on a click of ``link``: the page with the link's query parameters."""
    page = {"compare": "pages/compare.py", "train": "pages/train.py"}[link.page]
    at.query_params = dict(parse_qsl(link.query_string))
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_the_lesson_start_opens_the_compare_page_on_step_one_even_after_a_visit(home):
    # the Compare page seen first (its URL state applied once), then the home page's link
    home.switch_page("pages/compare.py").run()
    assert home.session_state["cmp_lesson_step"] is None
    home.query_params = {}
    home.switch_page("pages/explorer.py").run()
    _follow(home, _starts(home)["Run the lesson (AE vs VAE)"])
    assert home.session_state["cmp_lesson_step"] == 0
    assert any("Lesson 1/8: The AE's map" in m.value for m in home.main.markdown)
    assert home.query_params["step"] == "1"


def test_the_train_start_opens_the_train_page(home):
    _follow(home, _starts(home)["Train your own"])
    assert [t.value for t in home.main.title] == ["Train a model"]
