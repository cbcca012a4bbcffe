# The two commands of the README:
#   make demo   install (scripts/setup.sh) and open the live view (http://localhost:7860) on the
#               synthetic scene with the embedded classic backend: no camera, no weights
#   make test   install and run the test suite (what CI runs)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test
setup:
	bash scripts/setup.sh

demo: setup
	$(VENV)/bin/samstream demo --source synthetic --model classic

test: setup
	bash scripts/test.sh
