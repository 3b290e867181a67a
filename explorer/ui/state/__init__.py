"""What a session and a browser hold: session-state defaults (:mod:`.session`), the model
registry (:mod:`.registry`: shipped files, session models, uploads -> ``ModelEntry``, whose
key identifies a model's weights: :mod:`.model_entry`) and its short names
(:mod:`.model_names`), the family pages' shipped files (:mod:`.shipped`), the Streamlit
caches (:mod:`.caches`, the only ``st.cache_*``, keyed by the model entry), models kept
per browser across reloads (:mod:`.browser_store`) and the notes replicas share
(:mod:`.replica`)."""
