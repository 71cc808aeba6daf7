"""The PRISM study: load the dataset, score it through the client, fit the preference models."""
