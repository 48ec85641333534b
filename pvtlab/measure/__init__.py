"""pvtlab.measure: FLOPs that count attention, params, peak memory, throughput and provenance.

One small module per measurement; ``measure`` (record.py) ties them into one flat result row per cell.
"""

from .analytic import AnalyticCount, analytic_count
from .flops import FlopCount, UncountedOpError, count_flops
from .memory import PeakMemory, peak_memory
from .params import ParamCount, count_params
from .peak import matmul_peak_flops, mfu
from .provenance import PROVENANCE_COLUMNS, provenance
from .record import GROUP_COLUMNS, GROUPS, measure
from .timing import TimingResult, measure_throughput, time_step

__all__ = ["AnalyticCount", "FlopCount", "GROUP_COLUMNS", "GROUPS", "PROVENANCE_COLUMNS", "ParamCount", "PeakMemory",
           "TimingResult", "UncountedOpError", "analytic_count", "count_flops", "count_params", "matmul_peak_flops",
           "measure", "measure_throughput", "mfu", "peak_memory", "provenance", "time_step"]
