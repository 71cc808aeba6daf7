"""Evaluation: metrics, the evaluation suite over labelled sets, and the generated model
card. Reads artifacts through ``perspective_local.models``; the server never imports this
package (extra ``[train]``)."""
