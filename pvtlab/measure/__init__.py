"""pvtlab.measure: FLOPs that count attention, params, peak memory, throughput, provenance, and where linear SRA pays.

One small module per idea; ``measure`` (run.py) ties them into one flat result row per cell, ``sweep`` into a
DataFrame over configs, sizes and groups.
"""

from pvtlab.columns import COMPLEXITY_GROUPS

from .analytic import AnalyticCount, analytic_count
from .block import measure_block, run_block_job
from .crossover import lsra_crossover
from .flops import FlopCount, UncountedOpError, count_flops
from .groups import ParamCount, count_params
from .memory import PeakMemory, peak_memory
from .provenance import PROVENANCE_COLUMNS, provenance
from .job import BlockJob, MeasureJob, block_job, measure_job
from .run import GROUP_COLUMNS, measure, run_measure_job
from .sdpa import detect_sdpa_backend, sdpa_backend_from_ops
from .sweep import sweep
from .timing import (TimingResult, achieved_flops, latency_percentiles, matmul_peak_flops, measure_throughput, mfu,
                     time_step)

__all__ = ["AnalyticCount", "BlockJob", "COMPLEXITY_GROUPS", "FlopCount", "GROUP_COLUMNS", "PROVENANCE_COLUMNS",
           "MeasureJob", "ParamCount", "PeakMemory", "TimingResult", "UncountedOpError", "achieved_flops", "analytic_count", "block_job", "measure_job", "run_measure_job",
           "count_flops", "count_params", "detect_sdpa_backend", "latency_percentiles", "lsra_crossover",
           "matmul_peak_flops", "measure", "measure_block", "measure_throughput", "run_block_job", "mfu", "peak_memory", "provenance",
           "sdpa_backend_from_ops", "sweep", "time_step"]
