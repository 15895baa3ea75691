"""parbench tools: Google Benchmark JSON and parbench traces as tables, plots and verdicts."""
