"""The benchmark behind `make bench` (run `python -m bench --help`)."""
