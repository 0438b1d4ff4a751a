//! Pagination, filters with operators, `order_by`, limits and `created_before`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const PAGINATED: &[(&str, T)] = &[
    ("_links", T::Obj),
    ("created_before", T::Int),
    ("limit", T::Int),
    ("page", T::Int),
    ("total_users", T::Int),
    ("users", T::Arr),
];
const LINKS: &[(&str, T)] = &[
    ("first", T::Obj),
    ("last", T::Obj),
    ("next", T::Obj),
    ("previous", T::Obj),
    ("self", T::Obj),
];

fn ids(v: &Value) -> Vec<String> {
    v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect()
}

async fn seed(api: &Api) {
    for i in 0..5 {
        api.create_user(json!({"email": format!("user{i}@example.com")}))
            .await;
    }
    api.create_user(json!({"phone": "+15555550199"})).await;
}

#[tokio::test]
async fn pagination_envelope_and_links() {
    let emu = start().await;
    let api = Api::new(&emu);
    seed(&api).await;
    let (s, v) = api.get("/users?limit=2&page=2").await;
    assert_eq!(s, 200, "{v}");
    assert_shape(&v, PAGINATED);
    assert_shape(&v["_links"], LINKS);
    for l in ["first", "last", "next", "previous", "self"] {
        assert_shape(&v["_links"][l], &[("href", T::Str)]);
    }
    for u in v["users"].as_array().unwrap() {
        assert_shape(u, LIST_ITEM);
    }
    assert_eq!(v["total_users"], 6);
    assert_eq!(v["limit"], 2);
    assert_eq!(v["page"], 2);
    assert_eq!(v["users"].as_array().unwrap().len(), 2);
    let links = &v["_links"];
    assert!(links["next"]["href"].as_str().unwrap().contains("page=3"));
    assert!(
        links["previous"]["href"]
            .as_str()
            .unwrap()
            .contains("page=1")
    );
    assert!(links["last"]["href"].as_str().unwrap().contains("page=3"));
    assert!(links["self"]["href"].as_str().unwrap().contains("page=2"));

    // Following `next` from the first page walks every user exactly once.
    let mut seen = Vec::new();
    let mut path = "/users?limit=4".to_string();
    loop {
        let (_, v) = api.get(&path).await;
        seen.extend(
            v["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].clone()),
        );
        let next = v["_links"]["next"]["href"].as_str().unwrap().to_string();
        if next.is_empty() {
            assert!(!v["_links"]["previous"]["href"].as_str().unwrap().is_empty());
            break;
        }
        path = next
            .strip_prefix(&format!("/v1/apps/{}", api.app))
            .unwrap()
            .to_string();
    }
    assert_eq!(seen.len(), 6);

    // First page: previous is "", default limit 20.
    let (_, v) = api.get("/users").await;
    assert_eq!(v["_links"]["previous"]["href"], "");
    assert_eq!(v["_links"]["next"]["href"], "");
    assert_eq!(v["limit"], 20);
    assert_eq!(v["page"], 1);
    // Default order: newest first.
    assert_eq!(v["users"][0]["phone"], "+15555550199");
}

#[tokio::test]
async fn limits_and_page_validation() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, v) = api.get("/users?limit=500").await;
    assert_eq!(s, 200, "{v}");
    for (q, msg) in [
        ("limit=501", "limit: must be no greater than 500."),
        ("limit=0", "limit: must be no less than 1."),
        ("page=0", "page: must be no less than 1."),
        ("page=abc", "page: must be an integer."),
        (
            "created_before=yesterday",
            "created_before: must be an integer.",
        ),
    ] {
        let (s, v) = api.get(&format!("/users?{q}")).await;
        assert_eq!(s, 400, "{q}");
        assert_eq!(v, json!({"code": "invalid_request", "error": msg}), "{q}");
    }
    // Beyond the last page: empty list, still 200.
    let (s, v) = api.get("/users?page=9").await;
    assert_eq!(s, 200);
    assert!(v["users"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn created_before_anchors_results() {
    let emu = start().await;
    let api = Api::new(&emu);
    api.create_user(json!({"email": "old@example.com"})).await;
    let (_, v) = api.get("/users?created_before=1000").await;
    assert_eq!(v["total_users"], 0);
    assert_eq!(v["created_before"], 1000);
    let far = time::OffsetDateTime::now_utc().unix_timestamp() + 100;
    let (_, v) = api.get(&format!("/users?created_before={far}")).await;
    assert_eq!(v["total_users"], 1);
    assert!(
        v["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .contains(&format!("created_before={far}"))
    );
}

#[tokio::test]
async fn filters_with_operators() {
    let emu = start().await;
    let api = Api::new(&emu);
    seed(&api).await;
    let (_, all) = api.get("/users?order_by=created_at:ASC").await;
    let first_id = all["users"][0]["id"].as_str().unwrap().to_string();
    let third_created = all["users"][2]["created_at"].as_str().unwrap().to_string();

    let count = |v: &Value| v["total_users"].as_i64().unwrap();
    let (_, v) = api.get("/users?identifier=user1%40example.com").await;
    assert_eq!(ids(&v), vec!["user1@example.com"]);
    let (_, v) = api.get("/users?identifier=USER1%40EXAMPLE.COM").await;
    assert_eq!(count(&v), 1, "identifier is case-insensitive for emails");
    let (_, v) = api.get("/users?identifier=%2B15555550199").await;
    assert_eq!(v["users"][0]["phone"], "+15555550199");
    let (_, v) = api.get("/users?identifier=ne:user1%40example.com").await;
    assert_eq!(count(&v), 5);
    let (_, v) = api.get("/users?identifier=like:user").await;
    assert_eq!(count(&v), 5);
    let (_, v) = api.get("/users?identifier=like:%25@example.com").await;
    assert_eq!(count(&v), 5);
    let (_, v) = api.get("/users?identifier=not_like:user").await;
    assert_eq!(count(&v), 1);
    let (_, v) = api.get("/users?identifier=gt:user2%40example.com").await;
    assert_eq!(ids(&v).len(), 2);
    let (_, v) = api.get(&format!("/users?id={first_id}")).await;
    assert_eq!(ids(&v), vec!["user0@example.com"]);
    let (_, v) = api.get(&format!("/users?id=ne:{first_id}")).await;
    assert_eq!(count(&v), 5);

    // status and login_count.
    let (_, v) = api
        .call(
            Method::PATCH,
            &format!("/users/{first_id}/deactivate"),
            None,
        )
        .await;
    assert_eq!(v["user"]["status"], "inactive");
    let (_, v) = api.get("/users?status=inactive").await;
    assert_eq!(count(&v), 1);
    let (_, v) = api.get("/users?status=ne:inactive").await;
    assert_eq!(count(&v), 5);
    let (_, v) = api.get("/users?login_count=0").await;
    assert_eq!(count(&v), 6);
    let (_, v) = api.get("/users?login_count=gt:0").await;
    assert_eq!(count(&v), 0);

    // Timestamps (Passage's format with microseconds) and the zero last_login_at.
    let (_, v) = api
        .get(&format!("/users?created_at=lt:{third_created}"))
        .await;
    assert_eq!(count(&v), 2);
    let (_, v) = api.get(&format!("/users?created_at={third_created}")).await;
    assert_eq!(count(&v), 1);
    let (_, v) = api
        .get("/users?created_at=gt:2000-01-02T15:04:05.000000Z")
        .await;
    assert_eq!(count(&v), 6);
    let (_, v) = api
        .get("/users?last_login_at=lt:2000-01-02T15:04:05.000000Z")
        .await;
    assert_eq!(count(&v), 6);
    let (_, v) = api
        .get("/users?updated_at=gt:2000-01-02T15:04:05.000000Z&identifier=like:user3")
        .await;
    assert_eq!(ids(&v), vec!["user3@example.com"]);
    // Filters are echoed in the links.
    assert!(
        v["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .contains("identifier=like%3Auser3")
    );
}

#[tokio::test]
async fn filter_errors() {
    let emu = start().await;
    let api = Api::new(&emu);
    for q in [
        "favourite_colour=blue",
        "email=a%40b.co",
        "identifier=foo:bar",
        "login_count=many",
        "login_count=like:1",
        "created_at=yesterday",
        "created_at=not_like:2020",
        "status=sleeping",
        "order_by=identifier:ASC",
        "order_by=nope:ASC",
        "order_by=created_at:UP",
    ] {
        let (s, v) = api.get(&format!("/users?{q}")).await;
        assert_eq!(s, 400, "{q} -> {v}");
        assert_shape(&v, ERROR);
        assert_eq!(v["code"], "invalid_request", "{q}");
    }
    let (_, v) = api.get("/users?favourite_colour=blue").await;
    assert_eq!(v["error"], "favourite_colour: unknown filter field.");
    let (_, v) = api.get("/users?order_by=identifier:ASC").await;
    assert_eq!(v["error"], "order_by: cannot order by identifier.");
}

#[tokio::test]
async fn order_by_fields_and_directions() {
    let emu = start().await;
    let api = Api::new(&emu);
    for e in ["b@example.com", "c@example.com", "a@example.com"] {
        api.create_user(json!({"email": e})).await;
    }
    let (_, v) = api.get("/users?order_by=email:ASC").await;
    assert_eq!(ids(&v), ["a@example.com", "b@example.com", "c@example.com"]);
    let (_, v) = api.get("/users?order_by=email:DESC").await;
    assert_eq!(ids(&v), ["c@example.com", "b@example.com", "a@example.com"]);
    let (_, v) = api.get("/users?order_by=created_at:ASC").await;
    assert_eq!(ids(&v), ["b@example.com", "c@example.com", "a@example.com"]);
    let (_, v) = api.get("/users?order_by=created_at:DESC").await;
    assert_eq!(ids(&v), ["a@example.com", "c@example.com", "b@example.com"]);
    // Multiple keys: equal status, then email descending.
    let (_, v) = api.get("/users?order_by=status:ASC,email:DESC").await;
    assert_eq!(ids(&v), ["c@example.com", "b@example.com", "a@example.com"]);
    let (s, _) = api.get("/users?order_by=login_count:desc,id:asc").await;
    assert_eq!(s, 200);
}
