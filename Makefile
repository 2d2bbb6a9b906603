# Convenience targets; the scripts are the source of truth.
.PHONY: serve test lint format bench

serve:
	scripts/serve.sh

test:
	scripts/test.sh

lint:
	scripts/lint.sh

format:
	swift format format -i -r Sources Tests Plugins Package.swift

bench:
	bench/run-all.sh
