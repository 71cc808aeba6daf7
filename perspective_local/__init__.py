"""perspective-local: Perspective API attributes scored on your own machine.

Sub-packages, each with one job: ``models`` (classifiers), ``service`` (the server),
``client`` (Python client and file scoring), ``analysis`` (the PRISM study), ``proto``
(wire contracts). Importing this package loads nothing heavy.
"""

__version__ = "0.1.0"
