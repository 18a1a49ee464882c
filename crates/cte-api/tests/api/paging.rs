//! Keyset cursor paging on `GET /api/cte/indicators/` (beyond CE): `X-Next-Cursor`, pages that
//! stay correct while others insert, and the 400s of cursor misuse.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

async fn with_domains(n: usize, from: usize) -> TestApp {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    insert(&app, from, n).await;
    app
}

async fn insert(app: &TestApp, from: usize, n: usize) {
    let batch: Vec<Value> = (from..from + n)
        .map(|i| json!({"value": format!("d{i:04}.example"), "type": "domain", "source": "DW"}))
        .collect();
    app.ingest(Value::Array(batch)).await;
}

/// One page: its values and the next cursor.
async fn page(app: &TestApp, query: &str) -> (Vec<String>, Option<String>) {
    let uri = format!("/api/cte/indicators/?{query}");
    let (s, headers, body) = app.get_raw(Some(&app.admin), &uri).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    let values = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_string())
        .collect();
    let next = headers
        .get("x-next-cursor")
        .map(|h| h.to_str().unwrap().to_string());
    (values, next)
}

fn names(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("d{i:04}.example")).collect()
}

#[tokio::test]
async fn pages_concatenate_to_the_whole_set_while_others_insert() {
    let app = with_domains(25, 0).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut inserted = 25;
    let mut pages = 0;
    loop {
        let (values, next) = page(&app, &format!("cursor={}&limit=10", enc(&cursor))).await;
        seen.extend(values);
        pages += 1;
        if pages <= 2 {
            // Another client inserts between pages; the walk still sees every row once.
            insert(&app, inserted, 5).await;
            inserted += 5;
        }
        match next {
            Some(c) => cursor = c,
            None => break,
        }
    }
    assert_eq!(seen, names(0..inserted));
    assert_eq!(pages, 4);
}

#[tokio::test]
async fn the_first_page_in_storage_order_starts_a_walk() {
    let app = with_domains(20, 0).await;
    // A plain CE request (no sort, no skip) returns the same page plus the cursor.
    let (first, next) = page(&app, "limit=10").await;
    assert_eq!(first, names(0..10));
    let (second, last) = page(&app, &format!("cursor={}&limit=10", next.unwrap())).await;
    assert_eq!(second, names(10..20));
    // Exactly at the end: the last page says so.
    assert_eq!(last, None);
    // Pages in another order or at an offset carry no cursor.
    assert_eq!(page(&app, "limit=5&sort=value").await.1, None);
    assert_eq!(page(&app, "limit=5&skip=5").await.1, None);
    assert_eq!(page(&app, "limit=50").await.1, None);
}

#[tokio::test]
async fn cursor_pages_combine_with_filters_and_take_large_limits() {
    let app = with_domains(150, 0).await;
    app.ingest(
        json!([{"value": "0123456789abcdef0123456789abcdef", "type": "md5", "source": "DW"}]),
    )
    .await;
    let (values, next) = page(&app, "cursor=&limit=10000").await;
    assert_eq!(values.len(), 151);
    assert_eq!(next, None);
    let f = enc(&json!({"type": "md5"}).to_string());
    let (values, next) = page(&app, &format!("cursor=&limit=1&filters={f}")).await;
    assert_eq!(values, vec!["0123456789abcdef0123456789abcdef".to_string()]);
    assert_eq!(next, None);
    let (values, next) = page(&app, "cursor=&limit=120&q=type%20IN%20(%22domain%22)").await;
    assert_eq!(values, names(0..120));
    let (rest, end) = page(
        &app,
        &format!(
            "cursor={}&limit=120&q=type%20IN%20(%22domain%22)",
            next.unwrap()
        ),
    )
    .await;
    assert_eq!(rest, names(120..150));
    assert_eq!(end, None);
}

#[tokio::test]
async fn cursor_misuse_is_refused() {
    let app = with_domains(3, 0).await;
    let get = |q: &'static str| {
        let app = &app;
        async move {
            app.get(&app.admin, &format!("/api/cte/indicators/?{q}"))
                .await
        }
    };
    assert_error(
        &get("cursor=&limit=10001").await,
        StatusCode::BAD_REQUEST,
        "Limit must be between 1 and 10000 with a cursor. Provided limit: 10001.",
    );
    assert_error(
        &get("cursor=&limit=0").await,
        StatusCode::BAD_REQUEST,
        "Limit must be between 1 and 10000 with a cursor. Provided limit: 0.",
    );
    // Without a cursor CE's limit of 100 stays.
    assert_error(
        &get("limit=101").await,
        StatusCode::BAD_REQUEST,
        "Limit cannot be greater than 100. Provided limit: 101.",
    );
    let bad = "Invalid cursor: pass the X-Next-Cursor header of the previous page unchanged, or an empty cursor to start.";
    // Not base64; base64 of another version; base64 of a negative id; base64 of garbage.
    for q in [
        "cursor=%21%21garbage",
        "cursor=djI6MQ",
        "cursor=djE6LTE",
        "cursor=aGVsbG8",
    ] {
        assert_error(&get(q).await, StatusCode::BAD_REQUEST, bad);
    }
    for (q, name) in [
        ("cursor=&sort=value", "sort"),
        ("cursor=&skip=2", "skip"),
        ("cursor=&aggregate=true", "aggregate"),
    ] {
        let got = get(q).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(
            got.1["detail"],
            json!(format!("{name} cannot be combined with cursor: cursor pages follow storage order from where the previous page ended.")),
        );
    }
    assert_error(
        &get("cursor=&filters=%7Bx").await,
        StatusCode::BAD_REQUEST,
        "Invalid JSON query provided.",
    );
}
