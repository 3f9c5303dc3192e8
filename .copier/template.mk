# The template repository's own targets. Copier leaves .copier/ out of new projects, so they have none.

## test-template: the template's tests (tests/template): new projects and updates, then a bake with its lint, fast tests and `make repro`
.PHONY: test-template
test-template: install
	$(BIN)/pytest -m slow tests/template
