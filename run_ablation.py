"""Run an ablation grid or write its report: ``python run_ablation.py --grid`` (see README.md)."""

from pvtlab.grid.cli import main

raise SystemExit(main())
