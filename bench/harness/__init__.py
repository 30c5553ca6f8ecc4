"""The benchmark's parts, for bench/bench.py (the program scripts/bench runs).

Pure modules hold every decision and every figure, tested by tests/bench without
starting anything: settings (the environment knobs), procfs (/proc accounting),
redis_replies (RESP and INFO text), figures (one phase's measurements into its JSON),
report (medians, targets, the table, the results file). rig starts and talks to the
processes; phases carries each phase out on a rig.
"""
