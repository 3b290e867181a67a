"""Background trainings: the job lifecycle (:mod:`.background_job`), the Train page's
run (:mod:`.training_job`) and its form (:mod:`.train_form`), the Compare page's twin run
(:mod:`.twin_job`), the server's queue (:mod:`.training_queue`) and the watchdog that
stops a run whose browser has gone (:mod:`.session_watch`). No Streamlit drawing here:
pages and views read a job through its ``snapshot()``."""
