"""What every page has around its views: the classroom layout and presentation mode
(:mod:`.layout`), Plotly.js loaded early (:mod:`.preload`) and the heavy imports done after
the first page is drawn (:mod:`.warmup`); the app's icon (``favicon.png``)."""
