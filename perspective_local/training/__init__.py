"""Training: labelled corpora and seed sets, fitting the heads, LoRA fine-tuning of the
encoder. Writes artifacts that ``perspective_local.models`` loads; the server never imports
this package (extra ``[train]``)."""
