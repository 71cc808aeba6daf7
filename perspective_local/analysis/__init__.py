"""The PRISM study: load the dataset, score it through the client, fit the preference models,
and per-user preference profiles tested on held-out choices."""
