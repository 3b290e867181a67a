"""Browser components: each module's Python sits beside its JavaScript (``X.py`` +
``X.js``), which it loads from this folder; ``safetensors.js`` is the one wire format
(the page's parser of safetensors bytes) that the decoder and the grid share."""
