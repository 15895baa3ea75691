"""parbench tools: turn Google Benchmark JSON and parbench traces into tables, plots and verdicts."""
