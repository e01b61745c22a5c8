"""fer_helpers: the tested code behind the FER-2013 analysis book's notebooks."""

__version__ = "0.1.0"
