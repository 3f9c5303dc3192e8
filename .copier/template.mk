# The template repository's own targets. Copier leaves .copier/ out of new projects, so they have none.

## test-template: bake a new project with non-default answers, then its lint, fast tests, bit-for-bit `make repro`
.PHONY: test-template
test-template: install
	$(BIN)/pytest -m slow tests/template
