# Shortcuts for the commands in README.md.
.PHONY: run test fmt lint ci bench load
run:
	cargo run --release -- serve
test:
	cargo test
fmt:
	cargo fmt --all
lint:
	cargo clippy --all-targets -- -D warnings
ci:
	bash .ci/run
bench:
	cargo bench --bench verify
load:
	bash bench/load.sh
