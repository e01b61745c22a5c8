"""The cleaned training sets: non-local means and other denoisers (`denoise`), the autoencoder's
outliers (`outliers`), and the data each arm trains on (`variants`)."""
