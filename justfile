# Recipes for day-to-day work; `just` alone lists them.

default:
    @just --list --unsorted

# Serve the API on 127.0.0.1:8080 with ./cte.db.
serve:
    cargo run --release --bin cte-server

# Run every test but the conformance tests (they need the official Python clients).
test:
    cargo test --workspace

# The tenant simulator against Netskope's official Python clients, installed into .venv first.
conformance:
    .ci/setup-python-clients.sh
    CTE_PY_VENV="$PWD/.venv" cargo test -p netskope-sim --test it -- --ignored conformance

# Formatting and lints, as CI expects them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Documentation with warnings as errors.
doc:
    RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps

# cte-core stays free of runtime, HTTP and database crates.
deps-check:
    ! cargo tree -p cte-core -e normal --prefix none | grep -E '^(tokio|reqwest|rusqlite|axum|hyper) '

# What CI runs, in CI's order.
ready: lint test conformance deps-check

# Create an API token in ./cte.db.
token *ARGS:
    cargo run --release --bin cte-server -- token create {{ARGS}}

# Performance figures against the targets (issue 8); `just bench --quick` for the 100k smoke run.
bench *ARGS:
    cargo run --release -p cte-bench -- {{ARGS}}
