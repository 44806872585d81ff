"""MiMoLo's benchmark suite: ``benchmarks/run`` discovers ``bench_*.py`` modules and reports
their figures against the targets of DESIGN §12 (see docs/benchmarks.md)."""
