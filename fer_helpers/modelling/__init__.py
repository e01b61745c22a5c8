"""Models and training: the architectures (`models`), the recipe's optimizer and schedule
(`optimizers`), one training loop (`training`) with its backups (`checkpoints`) and progress bar
(`progress`), the cost in FLOPs (`flops`), and a model's predictions (`inference`) and scores (`metrics`)."""
