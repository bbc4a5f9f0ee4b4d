"""Plain helpers shared by tests and benchmarks (not pytest plugins: import what you need)."""
