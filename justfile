# Recipes for day-to-day work; `just` alone lists them.

default:
    @just --list --unsorted

# Serve the API on 127.0.0.1:8080 with ./cte.db.
serve:
    cargo run --release --bin cte-server

# Run every test (what CI runs).
test:
    cargo test --workspace

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
ready: lint test deps-check

# Create an API token in ./cte.db.
token *ARGS:
    cargo run --release --bin cte-server -- token create {{ARGS}}

# Performance figures against the targets (issue 8); `just bench --quick` for the 100k smoke run.
bench *ARGS:
    cargo run --release -p cte-bench -- {{ARGS}}
