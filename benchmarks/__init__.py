"""``make bench``: the product against the floor its own work imposes, measured side by side in one run.

Cold init, warm latency per route, the reminder sweep at scale, webhook throughput, package size and memory,
each as a ratio to a floor measured in the same run (``python -m benchmarks --help``). Kept light on purpose:
the measured child processes import this package before their clock starts.
"""
