"""The image (`make image`) run as the chart runs it. `make test-image` runs check_image.py by name;
`make test` does not collect it (its name is not test_*.py): it needs Podman and the built image.
"""
