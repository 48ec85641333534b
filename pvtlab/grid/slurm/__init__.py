"""Running a grid's workers as one SLURM job array (submitit): the options, the submission and what each job
runs. The queue and the dead-worker rule are the grid's own (an Optuna RDB storage and its heartbeat), since
job states are not visible on every cluster (no ``sacct`` without slurmdbd)."""
