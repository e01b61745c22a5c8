"""The book's machinery, apart from the science: run records and the runbook that executes the
chapters, the notebook helpers, the diagrams and the Sphinx extension."""
