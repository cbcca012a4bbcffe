# The two commands of the README:
#   make demo   install (scripts/setup.sh) and run the main job on the embedded classic backend
#   make test   install and run the test suite (what CI runs)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test
setup:
	bash scripts/setup.sh

demo: setup
	$(VENV)/bin/samstream run --source synthetic --show-stats

test: setup
	bash scripts/test.sh
