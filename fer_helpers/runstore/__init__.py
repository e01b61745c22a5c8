"""The run store: every declared run trained once and committed as data (`store`), planned and
trained by `make runs` (`plan`, `runs`), read by the chapters as trials (`experiments`), and the book's
classifiers by name (`registry`)."""
