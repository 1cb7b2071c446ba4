//! Attachments: upload, send with ids, private expiring URLs, limits, deletion and the sweep,
//! on the local folder and on S3 (moto).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::chat::{direct, group};
use crate::harness::{Answer, TestApp, TestUser, error_code, ok_data};
use crate::media::{
    BOUNDARY, GPS_MARKER, app_on_a_new_bucket, get, gif, jpeg_with_gps, multipart_body, png,
    s3_server, stored,
};
use messenger::services::attachments;

const UPLOAD: &str = "mutation($file: Upload!) { uploadAttachment(file: $file) { id kind filename contentType byteSize width height url urlExpiresAt thumbnails { width height url } thumbnailUrl(width: 300) } }";
const SEND: &str = "mutation($s: ID!, $b: String!, $a: [ID!]) { sendMessage(input: {sessionId: $s, body: $b, attachmentIds: $a}) { id body attachments { id kind filename url thumbnails { width url } } } }";
const HISTORY: &str = "query($s: ID!) { session(id: $s) { messages { nodes { id body attachments { id kind filename contentType byteSize width height url thumbnailUrl(width: 1000) } } } } }";

/// Uploads a file as `user`, as a browser's multipart request would.
async fn upload_as(
    app: &TestApp,
    user: &TestUser,
    filename: &str,
    content_type: &str,
    file: &[u8],
) -> Value {
    let request = Request::post("/graphql")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", user.access))
        .body(Body::from(multipart_body(
            UPLOAD,
            filename,
            content_type,
            file,
        )))
        .expect("request");
    app.send(request).await.ok_json()
}

/// Uploads a file as `user`; returns the attachment.
pub async fn uploaded(
    app: &TestApp,
    user: &TestUser,
    filename: &str,
    content_type: &str,
    file: &[u8],
) -> Value {
    let response = upload_as(app, user, filename, content_type, file).await;
    ok_data(&response)["uploadAttachment"].clone()
}

fn text(answer: &Answer, name: header::HeaderName) -> String {
    answer.header(name).unwrap_or_default().to_owned()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn images_and_files_are_sent_with_a_message_and_served_privately() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;

    // An image with GPS metadata, a transparent PNG, a GIF, and a web page as a plain file.
    let photo = uploaded(
        &app,
        &alice,
        "holiday.jpg",
        "image/jpeg",
        &jpeg_with_gps(1600, 1200),
    )
    .await;
    assert_eq!(
        (
            photo["kind"].as_str(),
            photo["width"].as_i64(),
            photo["height"].as_i64()
        ),
        (Some("IMAGE"), Some(1200), Some(1600))
    );
    assert_eq!(photo["contentType"], "image/jpeg");
    let widths: Vec<i64> = photo["thumbnails"]
        .as_array()
        .expect("thumbnails")
        .iter()
        .filter_map(|t| t["width"].as_i64())
        .collect();
    assert_eq!(widths, [320, 1024]);
    assert_eq!(photo["thumbnails"][0]["height"], 426);
    let clear = uploaded(&app, &alice, "logo.png", "image/png", &png(200, 100, 0)).await;
    assert_eq!(
        (
            clear["contentType"].as_str(),
            clear["thumbnails"].as_array().map(Vec::len)
        ),
        (Some("image/png"), Some(0))
    );
    let moving = uploaded(&app, &alice, "cat.gif", "image/gif", &gif(64, 48)).await;
    assert_eq!(
        (moving["kind"].as_str(), moving["width"].as_i64()),
        (Some("IMAGE"), Some(64))
    );
    let page = b"<html><script>alert(1)</script></html>".to_vec();
    let file = uploaded(&app, &alice, "../../notes final.html", "text/html", &page).await;
    assert_eq!(
        (
            file["kind"].as_str(),
            file["filename"].as_str(),
            file["contentType"].as_str()
        ),
        (Some("FILE"), Some("notes final.html"), Some("text/html"))
    );
    assert_eq!(file["byteSize"], page.len());
    assert!(file["thumbnailUrl"].is_null());

    // Sent together, without text; in history for the other member, in order.
    let ids = json!([photo["id"], clear["id"], moving["id"], file["id"]]);
    let sent = ok_data(
        &app.gql(
            Some(&alice.access),
            SEND,
            json!({ "s": s, "b": "", "a": ids }),
        )
        .await,
    )["sendMessage"]
        .clone();
    assert_eq!(sent["body"], "");
    let history = app.gql(Some(&bob.access), HISTORY, json!({ "s": s })).await;
    let got = &ok_data(&history)["session"]["messages"]["nodes"][0]["attachments"];
    let names: Vec<&str> = got
        .as_array()
        .expect("attachments")
        .iter()
        .filter_map(|a| a["filename"].as_str())
        .collect();
    assert_eq!(
        names,
        ["holiday.jpg", "logo.png", "cat.gif", "notes final.html"]
    );

    // The image: turned upright (its EXIF said so), re-encoded without metadata, shown
    // inline; the 1,000-pixel request gets the 1,024 thumbnail.
    let full = get(&app, got[0]["url"].as_str().expect("url"), None).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(text(&full, header::CONTENT_TYPE), "image/jpeg");
    assert!(text(&full, header::CONTENT_DISPOSITION).starts_with("inline"));
    assert!(text(&full, header::CACHE_CONTROL).starts_with("private"));
    assert!(
        !contains(&full.body, GPS_MARKER.as_bytes()),
        "metadata stripped"
    );
    let decoded = image::load_from_memory(&full.body).expect("an image");
    assert_eq!((decoded.width(), decoded.height()), (1200, 1600));
    let thumb = get(&app, got[0]["thumbnailUrl"].as_str().expect("url"), None).await;
    let decoded = image::load_from_memory(&thumb.body).expect("an image");
    assert_eq!((decoded.width(), decoded.height()), (1024, 1365));

    // The file: the same bytes, downloaded, never sniffed or run.
    let served = get(&app, got[3]["url"].as_str().expect("url"), None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body.as_ref(), page.as_slice());
    assert_eq!(
        text(&served, header::CONTENT_TYPE),
        "application/octet-stream"
    );
    assert_eq!(text(&served, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(
        text(&served, header::CONTENT_DISPOSITION)
            .starts_with("attachment; filename=\"notes final.html\"")
    );
    assert!(text(&served, header::CONTENT_SECURITY_POLICY).contains("sandbox"));
}

#[tokio::test(flavor = "multi_thread")]
async fn attachment_urls_are_signed_expire_and_stop_with_the_message() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let file = uploaded(&app, &alice, "a.txt", "text/plain", b"secret plans").await;
    let sent = ok_data(
        &app.gql(
            Some(&alice.access),
            SEND,
            json!({ "s": s, "b": "here", "a": [file["id"]] }),
        )
        .await,
    )["sendMessage"]
        .clone();
    let url = sent["attachments"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    assert_eq!(get(&app, &url, None).await.status, StatusCode::OK);

    // Without its signature, with another's, or for another path: nothing.
    let (path, query) = url.split_once('?').expect("a signed URL");
    let bare = get(&app, path, None).await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    assert!(!contains(&bare.body, b"secret"));
    let forged = format!("{path}?{}", query.replace("sig=", "sig=A"));
    assert_eq!(get(&app, &forged, None).await.status, StatusCode::FORBIDDEN);
    let other = uploaded(&app, &bob, "b.txt", "text/plain", b"bob's").await;
    let other_path = other["url"]
        .as_str()
        .expect("url")
        .split_once('?')
        .expect("signed")
        .0
        .to_owned();
    assert_eq!(
        get(&app, &format!("{other_path}?{query}"), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Past its expiry, a URL this server signed is refused too.
    let object = path.trim_start_matches("/media/");
    let past = chrono::Utc::now().timestamp() - 1;
    let expired = format!("{path}?{}", app.state.media.signer.query(object, past));
    assert_eq!(
        get(&app, &expired, None).await.status,
        StatusCode::FORBIDDEN
    );

    // Deleting the message removes the files: the URL finds nothing, the store holds nothing.
    app.gql(
        Some(&alice.access),
        "mutation($m: ID!) { deleteMessage(id: $m) { id attachments { id } } }",
        json!({ "m": sent["id"] }),
    )
    .await;
    assert_eq!(get(&app, &url, None).await.status, StatusCode::NOT_FOUND);
    let left: Vec<String> = stored(&app)
        .await
        .into_iter()
        .filter(|n| n.contains(file["id"].as_str().expect("id")))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let history = app.gql(Some(&bob.access), HISTORY, json!({ "s": s })).await;
    assert_eq!(
        ok_data(&history)["session"]["messages"]["nodes"][0]["attachments"],
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_uploads_and_sends_store_nothing() {
    let app = TestApp::spawn_with(|c| {
        c.max_attachment_bytes = 64 * 1024;
        c.max_image_pixels = 1_000_000;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let s = group(&app, &alice, "Club", &[&bob]).await;
    let before = app.fingerprint().await;

    for (name, file) in [
        ("empty.txt", Vec::new()),
        ("big.bin", vec![7u8; 64 * 1024 + 1]),
        ("huge.png", crate::media::png_declaring(5000, 5000)),
        ("broken.jpg", jpeg_with_gps(100, 100)[..200].to_vec()),
    ] {
        let r = upload_as(&app, &alice, name, "application/octet-stream", &file).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{name}: {r}");
    }
    assert_eq!(app.fingerprint().await, before);
    assert!(stored(&app).await.is_empty(), "{:?}", stored(&app).await);

    // Someone else's upload, one sent already, eleven at once, an id twice: refused whole.
    let mine = uploaded(&app, &alice, "a.txt", "text/plain", b"a").await;
    let bobs = uploaded(&app, &bob, "b.txt", "text/plain", b"b").await;
    let send = |a: Value| {
        app.gql(
            Some(&alice.access),
            SEND,
            json!({ "s": s, "b": "x", "a": a }),
        )
    };
    let before = app.fingerprint().await;
    for ids in [
        json!([mine["id"], bobs["id"]]),
        json!([mine["id"], mine["id"]]),
        json!(vec![mine["id"].clone(); 11]),
        json!([uuid::Uuid::now_v7().to_string()]),
    ] {
        let r = send(ids.clone()).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{ids}: {r}");
    }
    assert_eq!(
        app.fingerprint().await,
        before,
        "refused sends changed nothing"
    );
    ok_data(&send(json!([mine["id"]])).await);
    let again = send(json!([mine["id"]])).await;
    assert_eq!(error_code(&again), Some("BAD_USER_INPUT"), "{again}");
    // Text is still required without attachments.
    let r = app
        .gql(Some(&alice.access), SEND, json!({ "s": s, "b": "  " }))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    // A stranger cannot attach to a conversation they are not in.
    let theirs = uploaded(&app, &carol, "c.txt", "text/plain", b"c").await;
    let r = app
        .gql(
            Some(&carol.access),
            SEND,
            json!({ "s": s, "b": "", "a": [theirs["id"]] }),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_removes_uploads_never_sent_and_objects_without_a_row() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let sent = uploaded(&app, &alice, "kept.txt", "text/plain", b"kept").await;
    ok_data(
        &app.gql(
            Some(&alice.access),
            SEND,
            json!({ "s": s, "b": "x", "a": [sent["id"]] }),
        )
        .await,
    );
    let unsent = uploaded(&app, &alice, "left.txt", "text/plain", b"left").await;
    // An object whose row never made it (a crash between the two).
    let orphan = format!("attachments/{}/file", uuid::Uuid::now_v7());
    app.state
        .media
        .store
        .put_attachment_object(&orphan, b"x".to_vec(), "text/plain", "attachment")
        .await
        .expect("put");

    let young = attachments::sweep(
        &app.state,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    )
    .await
    .expect("sweep");
    assert_eq!(
        (young.unsent, young.orphans),
        (0, 0),
        "nothing young is touched"
    );
    let swept = attachments::sweep(&app.state, Duration::ZERO, Duration::ZERO)
        .await
        .expect("sweep");
    assert_eq!((swept.unsent, swept.orphans), (1, 1));
    let names = stored(&app).await;
    let id = |v: &Value| v["id"].as_str().expect("id").to_owned();
    assert!(names.iter().any(|n| n.contains(&id(&sent))), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains(&id(&unsent)) || *n == orphan),
        "{names:?}"
    );
    assert_eq!(app.count("attachments").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_keeps_attachments_behind_presigned_urls() {
    let Some(server) = s3_server().await else {
        return;
    };
    let app = app_on_a_new_bucket(&server).await;
    // After the app: it installs the TLS crypto provider the client needs.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let s = direct(&app, &alice, &bob).await;
    let photo = uploaded(
        &app,
        &alice,
        "p.jpg",
        "image/jpeg",
        &jpeg_with_gps(800, 600),
    )
    .await;
    let file = uploaded(
        &app,
        &alice,
        "r.pdf",
        "application/pdf",
        b"%PDF-1.4 pretend",
    )
    .await;
    let sent = ok_data(
        &app.gql(
            Some(&alice.access),
            SEND,
            json!({ "s": s, "b": "", "a": [photo["id"], file["id"]] }),
        )
        .await,
    )["sendMessage"]
        .clone();

    // The URLs are the bucket's own, presigned: fetched straight from S3.
    let file_url = sent["attachments"][1]["url"].as_str().expect("url");
    assert!(
        file_url.starts_with(&server.endpoint) && file_url.contains("X-Amz-Signature"),
        "{file_url}"
    );
    let got = http.get(file_url).send().await.expect("GET");
    assert_eq!(got.status(), 200);
    assert_eq!(
        got.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok()),
        Some("attachment; filename=\"r.pdf\"; filename*=UTF-8''r.pdf")
    );
    assert_eq!(
        got.bytes().await.expect("body").as_ref(),
        b"%PDF-1.4 pretend"
    );
    let photo_url = sent["attachments"][0]["url"].as_str().expect("url");
    let image = http
        .get(photo_url)
        .send()
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body");
    assert!(!contains(&image, GPS_MARKER.as_bytes()));
    // It expires: the signature covers an expiry of the configured lifetime, at most a
    // quarter more (moto does not check signatures, so refusing a tampered one is S3's part).
    let expires: u64 = file_url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("X-Amz-Expires="))
        .and_then(|v| v.parse().ok())
        .expect("X-Amz-Expires");
    assert!((3600..=4500).contains(&expires), "{expires}");

    // Deleting the message deletes the objects from the bucket.
    app.gql(
        Some(&alice.access),
        "mutation($m: ID!) { deleteMessage(id: $m) { id } }",
        json!({ "m": sent["id"] }),
    )
    .await;
    let names = stored(&app).await;
    assert!(
        !names.iter().any(|n| n.starts_with("attachments/")),
        "{names:?}"
    );
}
